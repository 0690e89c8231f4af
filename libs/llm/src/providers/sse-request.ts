/**
 * The one HTTP transport of the OpenAI-compatible provider: a POST over
 * node:http(s) with a keep-alive agent, the response body parsed as SSE by
 * `eventsource-parser` in one linear pass. Every failure is raised as an
 * `LlmError` about the target's model (see `upstream-errors.ts`), except an
 * abort, which the call that closed the request reports.
 */
import { Agent as HttpAgent, IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createParser, EventSourceMessage } from 'eventsource-parser';
import { toLlmError, type ToLlmErrorContext } from '../errors';
import { connectionError, httpStatusError } from './upstream-errors';

export interface SseTarget {
  url: URL;
  headers: Record<string, string>;
  agent: HttpAgent;
  /** Names the model in errors and keeps the key out of them. */
  errors: ToLlmErrorContext;
}

/**
 * Without an `apiKey` no Authorization header is sent (servers that take no
 * key, such as Ollama). `endpoint` is the path under the base URL (chat
 * completions unless told).
 */
export function sseTarget(
  baseUrl: string,
  apiKey: string | undefined,
  extra: Record<string, string> = {},
  errors: ToLlmErrorContext = {},
  endpoint = 'chat/completions',
): SseTarget {
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}/${endpoint}`);
  const agent = url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  return {
    url,
    agent,
    errors,
    headers: {
      'Content-Type': 'application/json',
      Accept: 'text/event-stream',
      ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}),
      ...extra,
    },
  };
}

/**
 * Sends the request; resolves with the response once its status is 2xx, else
 * rejects with the `LlmError` for that status. `onClose` receives the function
 * that destroys the request (an abort or a timeout): a plain callback, as an
 * AbortSignal on the request costs memory for as long as the stream is open.
 */
export function postForStream(
  target: SseTarget,
  body: unknown,
  onClose: (close: () => void) => void,
): Promise<IncomingMessage> {
  let payload: string | undefined = JSON.stringify(body);
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target.url,
      {
        method: 'POST',
        agent: target.agent,
        headers: { ...target.headers, 'Content-Length': Buffer.byteLength(payload!) },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          res.setEncoding('utf8');
          // Reads report errors through the iterator; an abort after the last read must not go unhandled.
          res.on('error', () => undefined);
          resolve(res);
          return;
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c.length + text.length > 65536 ? '' : c));
        res.on('end', () => reject(httpStatusError(status, text, res.headers, target.errors)));
        res.on('error', (e: Error) => reject(toLlmError(e, target.errors)));
      },
    );
    req.on('error', (e: Error) => reject(e.name === 'AbortError' ? e : connectionError(e, target.errors)));
    onClose(() => req.destroy(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' })));
    req.end(payload);
    // The request's listeners keep this closure alive as long as the stream: do not keep the prompt with it.
    payload = undefined;
  });
}

/**
 * The SSE events of a response: each call of the returned function waits for
 * the next network read and returns the events it completed (possibly none);
 * `undefined` once the body ended; rejects if the connection was lost first.
 * Reads with 'data' events (one pending promise at most) rather than the
 * stream's async iterator, which holds more memory per open stream; the socket
 * is paused while nobody waits, so back-pressure reaches the upstream. The
 * HTTP chunks of one socket read arrive as several 'data' events in one
 * go: they are answered together, after the read.
 */
export function sseEvents(res: IncomingMessage): () => Promise<EventSourceMessage[] | undefined> {
  let pending: EventSourceMessage[] = [];
  let ended = false;
  let failure: unknown;
  let waiter:
    | { resolve: (events: EventSourceMessage[] | undefined) => void; reject: (err: unknown) => void }
    | undefined;
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const settle = () => {
    const w = waiter;
    if (!w) return;
    if (pending.length > 0) {
      waiter = undefined;
      const events = pending;
      pending = [];
      w.resolve(events);
    } else if (failure !== undefined) {
      waiter = undefined;
      w.reject(failure);
    } else if (ended) {
      waiter = undefined;
      w.resolve(undefined);
    }
  };
  let scheduled = false;
  const settleAfterRead = () => {
    if (scheduled) return;
    scheduled = true;
    process.nextTick(() => {
      scheduled = false;
      settle();
    });
  };
  const lost = (err?: unknown) => {
    if (ended) return;
    failure ??=
      err ??
      Object.assign(new Error('the upstream connection closed before the response ended'), { code: 'ECONNRESET' });
    settle();
  };
  res.on('data', (chunk: string) => {
    parser.feed(chunk);
    if (!waiter) res.pause();
    settleAfterRead();
  });
  res.on('end', () => {
    ended = true;
    settleAfterRead();
  });
  res.on('error', lost);
  res.on('close', () => {
    if (!res.complete) lost();
  });
  return () =>
    new Promise((resolve, reject) => {
      waiter = { resolve, reject };
      if (pending.length > 0 || ended || failure !== undefined) settle();
      else res.resume();
    });
}

/** The whole body of a 2xx response as text (a JSON answer, e.g. embeddings); rejects if the connection is lost first. */
export function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.on('data', (c: string) => (text += c));
    res.on('end', () => resolve(text));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete)
        reject(
          Object.assign(new Error('the upstream connection closed before the response ended'), { code: 'ECONNRESET' }),
        );
    });
  });
}
