import { HttpStatus } from '@nestjs/common';
import type { LlmError } from '@ensemble/llm';
import { ApiError } from '../common/api-error';

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
    default:
      // auth (our upstream key), timeout, upstream 5xx, connection, malformed stream, no model answering
      return new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'upstream_error',
        `The model is unavailable: ${error.message}`,
      );
  }
}
