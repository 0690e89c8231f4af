import { HttpException, HttpStatus } from '@nestjs/common';

/** OpenAI's error `type`, chosen from the HTTP status, in every error body. */
export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'server_error';

/** Machine-readable error codes; each maps to one HTTP status where it is raised. */
export type ErrorCode =
  | 'invalid_api_key'
  | 'insufficient_scope'
  | 'key_not_found'
  | 'validation_error'
  | 'invalid_json'
  | 'invalid_body'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'route_not_found'
  | 'app_not_found'
  | 'app_name_conflict'
  | 'app_code_conflict'
  | 'conversation_not_found'
  | 'conversation_busy'
  | 'conversation_conflict'
  | 'run_stream_not_found'
  | 'run_failed'
  | 'invalid_chat_param'
  | 'invalid_model'
  | 'invalid_messages'
  | 'invalid_chat_mode'
  | 'unsupported_chat_mode'
  | 'invalid_conv_uid'
  | 'app_not_runnable'
  | 'datasource_not_found'
  | 'datasource_name_conflict'
  | 'datasource_unreachable'
  | 'secrets_key_missing'
  | 'model_not_found'
  | 'rate_limit_exceeded'
  | 'too_many_runs'
  | 'upstream_error'
  | 'service_unavailable'
  | 'database_unavailable'
  | 'upstream_rate_limited'
  | 'internal_error'
  | 'space_not_found'
  | 'space_name_conflict'
  | 'document_not_found'
  | 'unsupported_document_type'
  | 'invalid_document'
  | 'document_running'
  | 'url_not_allowed'
  | 'url_fetch_failed';

export function errorTypeFor(status: number): ErrorType {
  if (status === 401 || status === 403) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * A failure the API reports on purpose: status, code, a human sentence and,
 * where one input is to blame, the field (`param`).
 */
export class ApiError extends HttpException {
  constructor(
    status: HttpStatus,
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message, status);
  }

  /** This error in the dual shape. */
  body(): ErrorBody {
    return errorBody(this.getStatus(), this.code, this.message, this.param);
  }

  static badRequest(code: ErrorCode, message: string, param: string | null = null): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, code, message, param);
  }

  static notFound(code: ErrorCode, message: string, param: string | null = null): ApiError {
    return new ApiError(HttpStatus.NOT_FOUND, code, message, param);
  }

  static conflict(code: ErrorCode, message: string, param: string | null = null): ApiError {
    return new ApiError(HttpStatus.CONFLICT, code, message, param);
  }
}

/** The dual error body both client families read (DB-GPT's Result and OpenAI's error). */
export interface ErrorBody {
  success: false;
  err_code: string;
  err_msg: string;
  data: null;
  error: { message: string; type: ErrorType; param: string | null; code: string };
}

export function errorBody(status: number, code: string, message: string, param: string | null): ErrorBody {
  return {
    success: false,
    err_code: code,
    err_msg: message,
    data: null,
    error: { message, type: errorTypeFor(status), param, code },
  };
}
