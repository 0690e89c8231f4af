import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse } from '@nestjs/swagger';

/** Schema of the dual error body (DB-GPT's and OpenAI's error fields together), for the OpenAPI document. */
export const ERROR_SCHEMA = {
  type: 'object',
  required: ['success', 'err_code', 'err_msg', 'data', 'error'],
  properties: {
    success: { type: 'boolean', enum: [false] },
    err_code: { type: 'string' },
    err_msg: { type: 'string' },
    data: { type: 'null' },
    error: {
      type: 'object',
      properties: {
        message: { type: 'string' },
        type: {
          type: 'string',
          enum: ['invalid_request_error', 'authentication_error', 'not_found_error', 'server_error'],
        },
        param: { type: 'string', nullable: true },
        code: { type: 'string' },
      },
    },
  },
};

/** Documents a Result-envelope success body whose `data` has the given schema. */
export function resultSchema(data: Record<string, unknown>) {
  return {
    type: 'object',
    properties: {
      success: { type: 'boolean', enum: [true] },
      err_code: { type: 'string', nullable: true },
      err_msg: { type: 'string', nullable: true },
      data,
    },
  };
}

/** The guarded route's error responses: 401 always, plus the given statuses. */
export function ApiErrors(...statuses: number[]) {
  return applyDecorators(
    ApiBearerAuth(),
    ...[401, ...statuses].map((status) =>
      ApiResponse({ status, description: 'Error (dual shape)', schema: ERROR_SCHEMA }),
    ),
  );
}
