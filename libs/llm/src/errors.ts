/**
 * Typed LLM errors. Every failure a provider or the strategy reports is an
 * `LlmError` whose `code` says what went wrong, so the strategy can decide on
 * a fallback and the API can map it to an HTTP status. Messages carry the
 * upstream's words but never an API key.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

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
 * Maps anything thrown while talking to a model (an `openai` SDK error, a
 * network error, a JSON syntax error, …) to an `LlmError`. An `LlmError` is
 * returned as is.
 */
export function toLlmError(err: unknown, ctx: ToLlmErrorContext = {}): LlmError {
  if (err instanceof LlmError) return err;
  const make = (code: LlmErrorCode, message: string, details: LlmErrorDetails = {}) =>
    new LlmError(code, describe(ctx.model, scrubSecrets(message, ctx.secrets)), {
      model: ctx.model,
      ...details,
    });

  if (err instanceof APIUserAbortError) return make('aborted', 'the request was aborted');
  if (err instanceof APIConnectionTimeoutError) return make('timeout', 'the upstream did not answer in time');
  if (err instanceof APIConnectionError) {
    return make('connection', `could not reach the upstream (${causeMessage(err.cause ?? err)})`);
  }
  if (err instanceof APIError) return fromStatus(err as APIError<number | undefined>, make);
  if (!isErrorLike(err)) return make('upstream', String(err));
  if (err.name === 'SyntaxError') return make('malformed_stream', `the upstream sent invalid JSON (${err.message})`);
  if (err.name === 'AbortError') return make('aborted', 'the request was aborted');
  if (isNetworkError(err)) return make('connection', `the upstream connection failed (${causeMessage(err)})`);
  return make('upstream', err.message);
}

type MakeError = (code: LlmErrorCode, message: string, details?: LlmErrorDetails) => LlmError;

function fromStatus(err: APIError, make: MakeError): LlmError {
  const status = err.status;
  const upstreamMessage = stripStatusPrefix(err.message, status);
  if (status === undefined) return make('upstream', `the upstream reported an error: ${upstreamMessage}`);
  const says = `the upstream answered ${status}: ${upstreamMessage}`;
  const details = { status };
  if (status === 401 || status === 402 || status === 403) return make('auth', says, details);
  if (status === 429) return make('rate_limit', says, { ...details, retryAfterMs: retryAfterMs(err.headers) });
  if (status === 408) return make('timeout', says, details);
  if (status === 404 || status >= 500) return make('upstream', says, details);
  if (isContextLengthError(err)) return make('context_length', says, details);
  return make('bad_request', says, details);
}

function isContextLengthError(err: APIError): boolean {
  if (err.code === 'context_length_exceeded') return true;
  return /context length|context window|maximum context|prompt is too long|too many tokens/i.test(err.message);
}

/** Reads `retry-after-ms` (OpenAI) or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = headers?.get('retry-after');
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

/** The SDK prefixes messages with the status (`"500 boom"`); the status is reported separately. */
function stripStatusPrefix(message: string, status: number | undefined): string {
  return status !== undefined && message.startsWith(`${status} `) ? message.slice(String(status).length + 1) : message;
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
 * Duck-typed, not `instanceof Error`: errors thrown inside Node's fetch come
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

/** What undici throws when a socket fails or closes under a response body. */
function isNetworkError(err: ErrorLike): boolean {
  if (err.name === 'TypeError' && /terminated|fetch failed|network/i.test(err.message)) return true;
  return /^(ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR)/.test(err.code ?? '');
}
