import { HttpStatus } from '@nestjs/common';
import type { LlmError } from '@ensemble/llm';
import { ApiError } from '../common/api-error';
import { assertUnreachable } from '../common/assert-unreachable';

/** Maps a typed LLM failure to the API's status and code (no upstream secret reaches the body). */
export function llmErrorToApi(error: LlmError): ApiError {
  switch (error.code) {
    case 'unknown_model':
      return ApiError.badRequest('model_not_found', error.message, 'model');
    case 'bad_request':
    case 'context_length':
      return ApiError.badRequest('upstream_error', `The model rejected the request: ${error.message}`);
    case 'rate_limit': {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
      return new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'rate_limit_exceeded',
        `The model is rate limited: ${error.message}`,
        null,
        {
          'Retry-After': String(seconds),
        },
      );
    }
    case 'aborted':
      return new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'service_unavailable', 'The request was cancelled.');
    // Our upstream key, a timeout, an upstream 5xx, the connection, a malformed stream, no model answering.
    case 'auth':
    case 'timeout':
    case 'upstream':
    case 'connection':
    case 'malformed_stream':
    case 'no_model_available':
      return new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'upstream_error',
        `The model is unavailable: ${error.message}`,
      );
    default:
      return assertUnreachable(error.code);
  }
}
