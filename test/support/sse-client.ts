import { request as httpRequest } from 'node:http';
import { AUTH } from './server';

export interface SseClient {
  /** Status of the response (once it arrived). */
  status(): number;
  /** The body exactly as received so far. */
  received(): string;
  /** Resolves once `condition(received)` holds (checked on each read), rejects when the response ends first. */
  until(condition: (received: string) => boolean): Promise<void>;
  /** Closes the connection from the client side. */
  hangUp(): void;
  /** Resolves with the body when the response ends or the client hung up. */
  done: Promise<string>;
}

/**
 * An HTTP request (GET, or POST with a JSON body) whose answer is read as it
 * arrives, over a plain socket, so a test can act mid-stream and drop the
 * connection at a chosen point.
 */
export function sseRequest(
  origin: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = AUTH,
): SseClient {
  let data = '';
  let status = 0;
  let ended = false;
  let hungUp = false;
  const watchers: { condition: (s: string) => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...watchers]) {
      if (w.condition(data)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      } else if (ended) {
        watchers.splice(watchers.indexOf(w), 1);
        w.reject(new Error(`the response ended before the condition held:\n${data}`));
      }
    }
  };
  const req = httpRequest(`${origin}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
  });
  const done = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        data += c;
        check();
      });
      const end = () => {
        ended = true;
        check();
        resolve(data);
      };
      res.on('end', end);
      res.on('error', (e) => (hungUp ? end() : reject(e)));
      res.on('close', end);
    });
    req.on('error', (e) => {
      ended = true;
      check();
      if (hungUp) resolve(data);
      else reject(e);
    });
  });
  req.end(body !== undefined ? JSON.stringify(body) : undefined);
  return {
    status: () => status,
    received: () => data,
    until: (condition) =>
      new Promise<void>((resolve, reject) => {
        watchers.push({ condition, resolve, reject });
        check();
      }),
    hangUp: () => {
      hungUp = true;
      req.destroy();
    },
    done,
  };
}

/** The frames of an SSE body (`…\n\n` each), pings included. */
export const sseFrames = (body: string): string[] => body.match(/[^]*?\n\n/g) ?? [];

/** The `id:` of the last whole frame received (0 when none). */
export function lastId(body: string): number {
  const ids = sseFrames(body)
    .map((f) => /^id: (\d+)\n/.exec(f)?.[1])
    .filter((id): id is string => id !== undefined);
  return ids.length ? Number(ids[ids.length - 1]) : 0;
}

/** The body without its `: ping` frames (they are not frames of the run) and without a trailing partial frame. */
export const withoutPings = (body: string): string =>
  sseFrames(body)
    .filter((f) => f !== ': ping\n\n')
    .join('');

/** The body with its `id:` lines removed. */
export const withoutIds = (body: string): string => body.replace(/^id: \d+\n/gm, '');
