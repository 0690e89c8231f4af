/**
 * A local fake of an OpenAI-compatible server (node:http, 127.0.0.1, an
 * ephemeral port) for unit tests, e2e tests and benchmarks. Requests cross a
 * real socket; the wire shapes are OpenAI's (chat completion chunks, the
 * usage chunk with `choices: []`, `data: [DONE]`, error bodies).
 *
 *   const fake = await startFakeOpenAI();
 *   fake.enqueue('first reply', { status: 500 });   // scripted, in order
 *   fake.setHandler((body) => ({ text: 'hi', tokenDelayMs: 5 }));   // after the queue
 *   ... point a client at fake.url ...
 *   expect(await fake.requests[0].outcome).toBe('closed-early');
 *   await fake.close();
 *
 * `POST /v1/embeddings` answers with deterministic vectors (`fakeEmbedding`:
 * a hashed bag of words in which the words of one concept group, e.g. car /
 * automobile / vehicle, count as one), so texts with no word in common but
 * a shared concept are close; `enqueueEmbeddings` scripts failures.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake answers one chat completion request. Every field is optional. */
export interface FakeReply {
  /** Answer text; split into word tokens (each keeps its trailing space) unless `tokens` is given. */
  text?: string;
  /** Exact content deltas, one chunk each. Wins over `text`. */
  tokens?: string[];
  /** Wait before the first chunk (stream; headers are sent at once) or before the whole response (non-stream). */
  firstTokenDelayMs?: number;
  /** Wait between content chunks. */
  tokenDelayMs?: number;
  /** Stream: awaited before content chunk `index` (every one but the first), e.g. until the client read the one before. */
  beforeToken?: (index: number) => Promise<void>;
  /** Stream: everything after the headers leaves in one socket write (a fast upstream's burst), so it arrives in one read. */
  burst?: boolean;
  /** An HTTP status >= 400 answers with an error body instead of a completion. */
  status?: number;
  /** Body of an error reply; default `{ error: { message, type, param, code } }`. */
  errorBody?: unknown;
  /** Extra response headers (e.g. `retry-after`). */
  headers?: Record<string, string>;
  /** Destroy the socket after this many content chunks (a connection lost mid-stream). */
  cutAfterTokens?: number;
  /** After the content chunks, send a chunk that is not JSON and end. */
  malformed?: boolean;
  /** After the content chunks, send an in-stream `{"error": …}` event and end (as vLLM and gateways do). */
  streamError?: { message: string; type?: string; code?: string | null };
  /** After the content chunks, end the response without a finish chunk or `[DONE]`. */
  endWithoutFinish?: boolean;
  /** Reported usage; default counts words. `null` omits the usage chunk. */
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  /** The finish reason sent, as OpenAI names them (`stop`, `length`, `content_filter`, …). Default `stop`. */
  finishReason?: string;
}

/** The parsed body of a chat completion request (OpenAI fields, untyped extras). */
export interface ChatRequestBody {
  model?: string;
  messages?: Array<{ role: string; content: unknown }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
  stop?: string | string[];
  [field: string]: unknown;
}

/**
 * How a request ended: the fake finished its response, the client closed the
 * connection first, or the fake cut it on purpose (`cutAfterTokens`).
 */
export type RequestOutcome = 'completed' | 'closed-early' | 'cut';

export interface RecordedRequest {
  method: string;
  /** Path without the query, e.g. `/v1/chat/completions`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined. */
  body: ChatRequestBody | undefined;
  /** Settles when the exchange ends; `closed-early` proves the client closed the upstream socket. */
  outcome: Promise<RequestOutcome>;
}

export interface FakeRequestContext {
  /** This request's record. */
  request: RecordedRequest;
  /** 0-based index among chat completion requests. */
  index: number;
}

/** Decides a reply; a string is shorthand for `{ text }`. */
export type FakeHandler = (
  body: ChatRequestBody,
  ctx: FakeRequestContext,
) => FakeReply | string | Promise<FakeReply | string>;

/** How the fake answers one embeddings request; by default with `fakeEmbedding` vectors. */
export interface FakeEmbeddingReply {
  /** An HTTP status >= 400 answers with an error body instead. */
  status?: number;
  /** Extra response headers (e.g. `retry-after`). */
  headers?: Record<string, string>;
  /** Answer 200 with a body that is not an embeddings response. */
  malformed?: boolean;
  /** Wait before answering. */
  delayMs?: number;
}

/** Groups of words `fakeEmbedding` treats as one (the first word of each group stands for it). */
export const FAKE_CONCEPTS: readonly (readonly string[])[] = [
  ['car', 'automobile', 'vehicle', 'auto', 'sedan'],
  ['doctor', 'physician', 'medic', 'clinician'],
  ['buy', 'purchase', 'acquire', 'procure'],
  ['big', 'large', 'huge', 'enormous'],
  ['house', 'home', 'dwelling', 'residence'],
  ['fix', 'repair', 'mend'],
  ['ocean', 'sea', 'marine'],
  ['cat', 'feline', 'kitten'],
];

/** Words `fakeEmbedding` ignores. */
const STOP_WORDS = new Set(
  'a an and are as at be by do does for from how i in is it of on or that the this to what when where which who why with you your'.split(
    ' ',
  ),
);

/** Dimensions of `fakeEmbedding` vectors unless told. */
export const FAKE_EMBEDDING_DIMENSIONS = 256;

/**
 * A deterministic unit vector for a text: each word (lower case, a plural
 * `s` dropped, stop words ignored, concept groups folded to their first
 * word) adds 1 to the dimension its FNV-1a hash picks.
 */
export function fakeEmbedding(text: string, dimensions = FAKE_EMBEDDING_DIMENSIONS): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const raw of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (STOP_WORDS.has(raw)) continue;
    const word = raw.length > 3 && raw.endsWith('s') && !raw.endsWith('ss') ? raw.slice(0, -1) : raw;
    const concept = FAKE_CONCEPTS.find((group) => group.includes(word))?.[0] ?? word;
    let hash = 0x811c9dc5;
    for (const ch of concept) hash = Math.imul(hash ^ ch.codePointAt(0)!, 0x01000193) >>> 0;
    vector[hash % dimensions] += 1;
  }
  const norm = Math.hypot(...vector);
  return norm ? vector.map((v) => v / norm) : vector.map((_, i) => (i === 0 ? 1 : 0));
}

export interface FakeOpenAIOptions {
  /** When set, requests must send `Authorization: Bearer <apiKey>` or get OpenAI's 401. */
  apiKey?: string;
  /** Ids listed by `GET /v1/models`. Default `['gpt-4o-mini']`. */
  models?: string[];
  /** Initial handler; default `echoHandler`. */
  handler?: FakeHandler;
}

export interface FakeOpenAI {
  /** Base URL to give a client, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** The chat completion requests only. */
  readonly chatRequests: RecordedRequest[];
  /** The embeddings requests only. */
  readonly embeddingRequests: RecordedRequest[];
  /** Queues replies for the next embeddings requests, in order (then `fakeEmbedding` vectors again). */
  enqueueEmbeddings(...replies: FakeEmbeddingReply[]): void;
  /** Number of requests whose client closed the connection before the response ended. */
  readonly closedEarly: number;
  /** Replaces the handler used once the queue is empty. */
  setHandler(handler: FakeHandler): void;
  /** Queues replies for the next chat completion requests, in order. */
  enqueue(...replies: Array<FakeReply | string>): void;
  /** Clears recorded requests and the queue; restores the initial handler. */
  reset(): void;
  /** Stops listening and destroys open connections. */
  close(): Promise<void>;
}

/** The default handler: `echo: <last user message>`. */
export const echoHandler: FakeHandler = (body) => {
  const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  return { text: `echo: ${contentText(lastUser?.content)}` };
};

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const initialHandler = options.handler ?? echoHandler;
  let handler = initialHandler;
  let queue: Array<FakeReply | string> = [];
  const requests: RecordedRequest[] = [];
  const chatRequests: RecordedRequest[] = [];
  const embeddingRequests: RecordedRequest[] = [];
  let embeddingQueue: FakeEmbeddingReply[] = [];
  let closedEarly = 0;

  const server = createServer((req, res) => {
    let settle: (outcome: RequestOutcome) => void = () => undefined;
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0],
      headers: req.headers,
      body: undefined,
      outcome: new Promise((resolve) => (settle = resolve)),
    };
    requests.push(record);
    const exchange = new Exchange(res, (outcome) => {
      if (outcome === 'closed-early') closedEarly++;
      settle(outcome);
    });
    handle(req, record, exchange).catch((err: unknown) => exchange.fail(err));
  });

  async function handle(req: IncomingMessage, record: RecordedRequest, exchange: Exchange): Promise<void> {
    const raw = await readBody(req);
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return exchange.json(401, openAIError('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
    }
    if (req.method === 'GET' && record.path === '/v1/models') {
      const created = Math.floor(Date.now() / 1000);
      const data = (options.models ?? ['gpt-4o-mini']).map((id) => ({
        id,
        object: 'model',
        created,
        owned_by: 'fake-openai',
      }));
      return exchange.json(200, { object: 'list', data });
    }
    if (req.method === 'POST' && record.path === '/v1/embeddings') {
      try {
        record.body = JSON.parse(raw) as ChatRequestBody;
      } catch {
        return exchange.json(
          400,
          openAIError('We could not parse the JSON body of your request.', 'invalid_request_error', null),
        );
      }
      embeddingRequests.push(record);
      return embeddingsReply(exchange, record.body, embeddingQueue.shift() ?? {});
    }
    if (req.method !== 'POST' || record.path !== '/v1/chat/completions') {
      return exchange.json(
        404,
        openAIError(`Unknown request URL: ${req.method} ${record.path}`, 'invalid_request_error', 'unknown_url'),
      );
    }
    try {
      record.body = JSON.parse(raw) as ChatRequestBody;
    } catch {
      return exchange.json(
        400,
        openAIError('We could not parse the JSON body of your request.', 'invalid_request_error', null),
      );
    }
    const index = chatRequests.push(record) - 1;
    const next = queue.shift() ?? (await handler(record.body, { request: record, index }));
    const reply = typeof next === 'string' ? { text: next } : next;
    return record.body.stream
      ? streamReply(exchange, record.body, reply)
      : completionReply(exchange, record.body, reply);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    chatRequests,
    embeddingRequests,
    enqueueEmbeddings(...replies) {
      embeddingQueue.push(...replies);
    },
    get closedEarly() {
      return closedEarly;
    },
    setHandler(fn) {
      handler = fn;
    },
    enqueue(...replies) {
      queue.push(...replies);
    },
    reset() {
      requests.length = 0;
      chatRequests.length = 0;
      embeddingRequests.length = 0;
      queue = [];
      embeddingQueue = [];
      handler = initialHandler;
      closedEarly = 0;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** One response in progress: knows whether the client is still there. */
class Exchange {
  private ended = false;

  constructor(
    readonly res: ServerResponse,
    private readonly onEnd: (outcome: RequestOutcome) => void,
  ) {
    res.on('close', () => this.finish(res.writableFinished ? 'completed' : 'closed-early'));
  }

  get open(): boolean {
    return !this.ended && !this.res.destroyed;
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (!this.open) return;
    this.res.writeHead(status, { 'content-type': 'application/json', ...headers });
    this.res.end(JSON.stringify(body));
  }

  write(data: string): void {
    if (this.open) this.res.write(data);
  }

  end(): void {
    if (this.open) this.res.end();
  }

  /** Closes the connection on purpose, mid-response, once what was written is flushed. */
  cut(): void {
    this.finish('cut');
    this.res.socket?.destroySoon();
  }

  fail(err: unknown): void {
    if (this.res.headersSent) return this.cut();
    this.json(500, openAIError(`fake-openai handler failed: ${String(err)}`, 'server_error', null));
  }

  /** Waits `ms`, or less if the client goes away. */
  wait(ms: number | undefined): Promise<void> {
    if (!ms || !this.open) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const res = this.res;
      function done() {
        clearTimeout(timer);
        res.off('close', done);
        resolve();
      }
      res.once('close', done);
    });
  }

  private finish(outcome: RequestOutcome): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(outcome);
  }
}

async function streamReply(exchange: Exchange, body: ChatRequestBody, reply: FakeReply): Promise<void> {
  if (reply.status && reply.status >= 400) return errorReply(exchange, reply);
  const tokens = replyTokens(reply);
  const includeUsage = body.stream_options?.include_usage === true;
  const base = {
    id: `chatcmpl-fake${Date.now()}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: body.model ?? 'fake',
    system_fingerprint: 'fp_fake',
  };
  const chunk = (delta: object, finishReason: string | null = null) =>
    sse({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });

  exchange.res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...reply.headers,
  });
  exchange.res.flushHeaders();
  await exchange.wait(reply.firstTokenDelayMs);
  if (reply.burst) {
    // Held in the socket until the reply is written (or cut), then sent as one write.
    exchange.res.socket?.cork();
    setImmediate(() => exchange.res.socket?.uncork());
  }
  exchange.write(chunk({ role: 'assistant', content: '', refusal: null }));
  for (const [i, token] of tokens.entries()) {
    if (reply.cutAfterTokens === i) return exchange.cut();
    if (i > 0) await exchange.wait(reply.tokenDelayMs);
    if (i > 0 && reply.beforeToken) await reply.beforeToken(i);
    exchange.write(chunk({ content: token }));
  }
  if (reply.cutAfterTokens !== undefined) return exchange.cut();
  if (reply.malformed) {
    exchange.write('data: {"id": "chatcmpl-fake", "choices": [ this is not JSON\n\n');
    return exchange.end();
  }
  if (reply.streamError) {
    const { message, type = 'server_error', code = null } = reply.streamError;
    exchange.write(sse({ error: { message, type, param: null, code } }));
    return exchange.end();
  }
  if (reply.endWithoutFinish) return exchange.end();
  exchange.write(chunk({}, reply.finishReason ?? 'stop'));
  const usage = replyUsage(body, tokens, reply);
  if (includeUsage && usage) exchange.write(sse({ ...base, choices: [], usage }));
  exchange.write('data: [DONE]\n\n');
  exchange.end();
}

async function completionReply(exchange: Exchange, body: ChatRequestBody, reply: FakeReply): Promise<void> {
  await exchange.wait(reply.firstTokenDelayMs);
  if (reply.status && reply.status >= 400) return errorReply(exchange, reply);
  if (reply.cutAfterTokens !== undefined) return exchange.cut();
  if (reply.malformed) {
    exchange.res.writeHead(200, { 'content-type': 'application/json', ...reply.headers });
    exchange.res.end('{"id": "chatcmpl-fake", "choices": [ this is not JSON');
    return;
  }
  const tokens = replyTokens(reply);
  const usage = replyUsage(body, tokens, reply);
  const completion = {
    id: `chatcmpl-fake${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model ?? 'fake',
    system_fingerprint: 'fp_fake',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: tokens.join(''), refusal: null },
        logprobs: null,
        finish_reason: reply.finishReason ?? 'stop',
      },
    ],
    ...(usage ? { usage } : {}),
  };
  exchange.json(200, completion, reply.headers);
}

async function embeddingsReply(exchange: Exchange, body: ChatRequestBody, reply: FakeEmbeddingReply): Promise<void> {
  await exchange.wait(reply.delayMs);
  if (reply.status && reply.status >= 400)
    return errorReply(exchange, { status: reply.status, headers: reply.headers });
  if (reply.malformed) return exchange.json(200, { object: 'list', data: 'not a list' }, reply.headers);
  const input = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input : undefined;
  if (!input || !input.every((t) => typeof t === 'string')) {
    return exchange.json(
      400,
      openAIError("'input' must be a string or a list of strings.", 'invalid_request_error', null),
    );
  }
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : FAKE_EMBEDDING_DIMENSIONS;
  const tokens = input.reduce((sum, t) => sum + countWords(t), 0);
  exchange.json(
    200,
    {
      object: 'list',
      data: input.map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(text, dimensions) })),
      model: body.model ?? 'fake-embedding',
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    reply.headers,
  );
}

async function errorReply(exchange: Exchange, reply: FakeReply): Promise<void> {
  const status = reply.status as number;
  const type =
    status === 401
      ? 'invalid_request_error'
      : status === 429
        ? 'requests'
        : status >= 500
          ? 'server_error'
          : 'invalid_request_error';
  exchange.json(status, reply.errorBody ?? openAIError(`fake-openai error ${status}`, type, null), reply.headers);
}

function replyTokens(reply: FakeReply): string[] {
  return reply.tokens ?? splitWords(reply.text ?? '');
}

function replyUsage(body: ChatRequestBody, tokens: string[], reply: FakeReply) {
  if (reply.usage === null) return undefined;
  const prompt_tokens = (body.messages ?? []).reduce((sum, m) => sum + countWords(contentText(m.content)), 0);
  const completion_tokens = tokens.length;
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens, ...reply.usage };
}

function openAIError(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } };
}

function sse(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
  return '';
}

function splitWords(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
