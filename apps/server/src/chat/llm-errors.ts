import { HttpStatus } from '@nestjs/common';
import type { LlmError, LlmErrorCode } from '@ensemble/llm';
import { ApiError } from '../common/api-error';
import { assertUnreachable } from '../common/assert-unreachable';

/** What went wrong, in our words: the upstream's own text (hosts, paths, HTML pages) stays in the log. */
const KIND: Record<Exclude<LlmErrorCode, 'unknown_model' | 'aborted'>, string> = {
  auth: 'refused our credentials',
  rate_limit: 'is rate limited by its provider',
  timeout: 'did not answer in time',
  bad_request: 'rejected the request',
  context_length: "rejected the request: the prompt does not fit the model's context window",
  upstream: 'failed (upstream error)',
  connection: 'could not be reached',
  malformed_stream: 'answered something that is not a chat completion',
  no_model_available: 'is not available: none of the configured models answered',
};

/**
 * Maps a typed LLM failure to the API's status and code. The body names the
 * model and the kind of failure only; the upstream's message is logged by
 * the run's LLM port (`metered-llm.ts`).
 */
export function llmErrorToApi(error: LlmError, model?: string): ApiError {
  if (error.code === 'unknown_model') return ApiError.badRequest('model_not_found', error.message, 'model');
  if (error.code === 'aborted')
    return new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'service_unavailable', 'The request was cancelled.');
  const name = error.model ?? model;
  const subject = name ? `The model ${JSON.stringify(name)}` : 'The model';
  const message = `${subject} ${KIND[error.code]}.`;
  switch (error.code) {
    case 'bad_request':
    case 'context_length':
      return ApiError.badRequest('upstream_error', message);
    case 'rate_limit': {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
      return new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'upstream_rate_limited',
        `${message.slice(0, -1)}; retry later.`,
        null,
        { 'Retry-After': String(seconds) },
      );
    }
    // Our upstream key, a timeout, an upstream 5xx, the connection, a malformed stream, no model answering.
    case 'auth':
    case 'timeout':
    case 'upstream':
    case 'connection':
    case 'malformed_stream':
    case 'no_model_available':
      return new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'upstream_error', message);
    default:
      return assertUnreachable(error.code);
  }
}
