/**
 * How an OpenAI-compatible upstream's failures become `LlmError`s: the HTTP
 * status of a refused request, an `{"error": …}` event inside a stream, a
 * connection that could not be made. The upstream's own words are kept
 * (scrubbed of the key); the status decides the code.
 */
import {
  type HeaderRecord,
  type LlmError,
  llmError,
  type LlmErrorCode,
  retryAfterMs,
  type ToLlmErrorContext,
} from '../errors';

/** The `error` object OpenAI-compatible servers send (`{"error": {"message", "type", "code"}}`). */
interface UpstreamErrorBody {
  message?: unknown;
  code?: unknown;
}

/** A non-2xx answer: `body` is the response text (JSON or not, possibly empty). */
export function httpStatusError(status: number, body: string, headers: HeaderRecord, ctx: ToLlmErrorContext): LlmError {
  const error = errorOf(parseJson(body));
  const says = `the upstream answered ${status}: ${describeError(error) ?? (body || 'status code (no body)')}`;
  const make = (code: LlmErrorCode, extra: { retryAfterMs?: number } = {}) =>
    llmError(code, says, ctx, { status, ...extra });
  if (status === 401 || status === 402 || status === 403) return make('auth');
  if (status === 429) return make('rate_limit', { retryAfterMs: retryAfterMs(headers) });
  if (status === 408) return make('timeout');
  if (status === 404 || status >= 500) return make('upstream');
  if (error?.code === 'context_length_exceeded' || CONTEXT_LENGTH.test(says)) return make('context_length');
  return make('bad_request');
}

/** An `{"error": …}` event in the middle of a stream (vLLM, gateways). */
export function streamEventError(data: { error?: unknown }, ctx: ToLlmErrorContext): LlmError {
  const said = describeError(errorOf(data)) ?? '(no message)';
  return llmError('upstream', `the upstream reported an error: ${said}`, ctx);
}

/** The request could not be sent or answered: refused, reset, DNS, TLS. */
export function connectionError(err: Error, ctx: ToLlmErrorContext): LlmError {
  return llmError('connection', `could not reach the upstream (${causeOf(err)})`, ctx);
}

const CONTEXT_LENGTH = /context length|context window|maximum context|prompt is too long|too many tokens/i;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The body's `error`: an object, or a bare string taken as its message. */
function errorOf(json: unknown): UpstreamErrorBody | undefined {
  const error = typeof json === 'object' && json !== null ? (json as { error?: unknown }).error : undefined;
  if (typeof error === 'string') return { message: error };
  return typeof error === 'object' && error !== null ? error : undefined;
}

/** The error's message, or the whole error object when it has none. */
function describeError(error: UpstreamErrorBody | undefined): string | undefined {
  if (!error) return undefined;
  if (typeof error.message === 'string' && error.message) return error.message;
  return JSON.stringify(error.message ?? error);
}

function causeOf(err: Error & { code?: string }): string {
  return err.code && !err.message.includes(err.code) ? `${err.message} [${err.code}]` : err.message;
}
