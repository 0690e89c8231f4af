import { applyDecorators, Type } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiResponse, ApiResponseOptions, getSchemaPath } from '@nestjs/swagger';

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
    required: ['success', 'err_code', 'err_msg', 'data'],
    properties: {
      success: { type: 'boolean', enum: [true] },
      err_code: { type: 'string', nullable: true },
      err_msg: { type: 'string', nullable: true },
      data,
    },
  };
}

/**
 * The members of a string union, for an `enum` in the document: the record
 * makes the compiler check the list is exactly the union.
 */
export function unionMembers<T extends string>(members: Record<T, true>): T[] {
  return Object.keys(members) as T[];
}

/** What a Result envelope carries: a response DTO class, `Boolean`, or `[]` (always an empty list). */
export type ResultData = Type<unknown> | BooleanConstructor | readonly [];

export interface ApiResultOptions {
  /** `data` is a list of the model. */
  isArray?: boolean;
  /** The success status; 200 unless given. */
  status?: number;
  description?: string;
  headers?: ApiResponseOptions['headers'];
}

/**
 * Documents a success answer as the Result envelope around `data`: a response
 * DTO class (registered as a component and referenced), `Boolean`, or `[]`.
 */
export function ApiResult(data: ResultData, options: ApiResultOptions = {}) {
  const model = typeof data === 'function' && data !== Boolean ? (data as Type<unknown>) : undefined;
  const item: Record<string, unknown> = model
    ? { $ref: getSchemaPath(model) }
    : data === Boolean
      ? { type: 'boolean' }
      : { type: 'array', maxItems: 0, items: {} };
  const schema = options.isArray ? { type: 'array', items: item } : item;
  return applyDecorators(
    ...(model ? [ApiExtraModels(model)] : []),
    ApiResponse({
      status: options.status ?? 200,
      description: options.description ?? 'Success (Result envelope)',
      schema: resultSchema(schema),
      ...(options.headers ? { headers: options.headers } : {}),
    }),
  );
}

/**
 * The guarded route's error responses: 401 and 503 (`database_unavailable`,
 * with `Retry-After`) always, 415 with 413 (routes that take a body), plus
 * the given statuses.
 */
export function ApiErrors(...statuses: number[]) {
  const all = new Set([401, ...statuses, ...(statuses.includes(413) ? [415] : []), 503]);
  return applyDecorators(
    ApiBearerAuth(),
    ...[...all].map((status) =>
      ApiResponse({
        status,
        description: 'Error (dual shape)',
        schema: ERROR_SCHEMA,
        ...(status === 503 || status === 429
          ? { headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } } }
          : {}),
      }),
    ),
  );
}
