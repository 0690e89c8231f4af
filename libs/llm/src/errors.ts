/**
 * Typed LLM errors. Every failure a provider or the strategy reports is an
 * `LlmError` whose `code` says what went wrong, so the strategy can decide on
 * a fallback and the API can map it to an HTTP status. Messages carry the
 * upstream's words but never an API key.
 */
export const LLM_ERROR_CODES = [
  // The upstream refused the credentials (401, 403) or the account (402).
  'auth',
  // 429; `retryAfterMs` is set when the upstream said how long to wait.
  'rate_limit',
  // No response, first token or next chunk within the model's timeout.
  'timeout',
  // The upstream rejected the request itself (400, 413, 422, …).
  'bad_request',
  // The prompt does not fit the model's context window.
  'context_length',
  // The upstream failed: 5xx, 404 on the endpoint, an error event in the stream.
  'upstream',
  // The connection was refused, reset or closed before the answer was complete.
  'connection',
  // The upstream answered something that is not a chat completion.
  'malformed_stream',
  // The caller's AbortSignal fired.
  'aborted',
  // A model name that the registry does not know.
  'unknown_model',
  // None of the models a strategy lists is configured.
  'no_model_available',
] as const;

export type LlmErrorCode = (typeof LLM_ERROR_CODES)[number];

const RETRYABLE_CODES: ReadonlySet<LlmErrorCode> = new Set(['rate_limit', 'timeout', 'upstream', 'connection']);

export interface LlmErrorDetails {
  /** HTTP status the upstream answered with, when there was one. */
  status?: number;
  /** Registry name of the model the error is about. */
  model?: string;
  /** For `rate_limit`: how long the upstream asked to wait. */
  retryAfterMs?: number;
}

export class LlmError extends Error {
  override readonly name = 'LlmError';
  readonly code: LlmErrorCode;
  readonly status?: number;
  readonly model?: string;
  readonly retryAfterMs?: number;

  constructor(code: LlmErrorCode, message: string, details: LlmErrorDetails = {}) {
    super(message);
    this.code = code;
    this.status = details.status;
    this.model = details.model;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** True when the same call may succeed if tried again later. */
  get retryable(): boolean {
    return RETRYABLE_CODES.has(this.code);
  }
}

export interface ToLlmErrorContext {
  /** Registry name of the model that was called. */
  model?: string;
  /** Values that must never appear in a message (the API key). */
  secrets?: readonly string[];
}

/**
 * Builds an `LlmError` about `ctx.model`: the message names the model and has
 * every secret scrubbed from it.
 */
export function llmError(
  code: LlmErrorCode,
  message: string,
  ctx: ToLlmErrorContext = {},
  details: LlmErrorDetails = {},
): LlmError {
  return new LlmError(code, describe(ctx.model, scrubSecrets(message, ctx.secrets)), { model: ctx.model, ...details });
}

/**
 * Maps anything thrown while talking to a model (a Node network error, a
 * JSON syntax error, an abort, …) to an `LlmError`. An `LlmError` is returned
 * as is. Providers map their upstream's HTTP answers themselves.
 */
export function toLlmError(err: unknown, ctx: ToLlmErrorContext = {}): LlmError {
  if (err instanceof LlmError) return err;
  if (!isErrorLike(err)) return llmError('upstream', String(err), ctx);
  if (err.name === 'SyntaxError')
    return llmError('malformed_stream', `the upstream sent invalid JSON (${err.message})`, ctx);
  if (err.name === 'AbortError') return llmError('aborted', 'the request was aborted', ctx);
  if (isNetworkError(err)) return llmError('connection', `the upstream connection failed (${causeMessage(err)})`, ctx);
  return llmError('upstream', err.message, ctx);
}

/** Response headers as Node gives them (lower-case names). */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Reads `retry-after-ms` (OpenAI) or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: HeaderRecord | undefined, now = Date.now()): number | undefined {
  const header = (name: string) => {
    const value = headers?.[name];
    return typeof value === 'string' ? value : value?.[0];
  };
  const ms = Number.parseFloat(header('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = header('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Replaces every occurrence of each secret, and any bearer token, by `***`. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let scrubbed = text;
  for (const secret of secrets) {
    if (secret) scrubbed = scrubbed.split(secret).join('***');
  }
  return scrubbed.replace(/(bearer\s+)[^\s"',]+/gi, '$1***');
}

function describe(model: string | undefined, message: string): string {
  return model ? `model "${model}": ${message}` : message;
}

function causeMessage(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  while (isErrorLike(current) && parts.length < 4) {
    const code = current.code;
    parts.push(code && !current.message.includes(code) ? `${current.message} [${code}]` : current.message);
    current = current.cause;
  }
  return parts.join(': ');
}

interface ErrorLike {
  name: string;
  message: string;
  code?: string;
  cause?: unknown;
}

/**
 * Duck-typed, not `instanceof Error`: errors thrown by Node's internals come
 * from another realm under some runners (Jest's VM contexts).
 */
function isErrorLike(err: unknown): err is ErrorLike {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as ErrorLike).message === 'string' &&
    typeof (err as ErrorLike).name === 'string'
  );
}

/** What Node's sockets (and undici's fetch) throw when a connection fails or closes under a response body. */
function isNetworkError(err: ErrorLike): boolean {
  if (err.name === 'TypeError' && /terminated|fetch failed|network/i.test(err.message)) return true;
  return /^(ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR)/.test(err.code ?? '');
}
