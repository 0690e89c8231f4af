import { HttpStatus } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { json } from 'express';
import { ApiError } from './api-error';

/**
 * The JSON body parser with its failures mapped to API errors here, where
 * their cause is still known (413 over the limit, 400 for malformed JSON).
 */
export function jsonBodyParser(limit: string): RequestHandler {
  const parse = json({ limit });
  return (req: Request, res: Response, next: NextFunction) =>
    parse(req, res, (err?: unknown) => next(err === undefined ? undefined : bodyError(err, limit)));
}

function bodyError(err: unknown, limit: string): unknown {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') {
    return new ApiError(
      HttpStatus.PAYLOAD_TOO_LARGE,
      'payload_too_large',
      `The request body is larger than the limit of ${limit} (BODY_LIMIT).`,
    );
  }
  if (type === 'entity.parse.failed') return ApiError.badRequest('invalid_json', 'The request body is not valid JSON.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new ApiError(
      HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      'validation_error',
      'The request body encoding is not supported.',
    );
  }
  if (type === 'request.aborted')
    return ApiError.badRequest('validation_error', 'The request body was not received in full.');
  return err;
}
