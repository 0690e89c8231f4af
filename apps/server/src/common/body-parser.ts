import { HttpStatus } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { json } from 'express';
import { isUtf8 } from 'node:buffer';
import { ApiError } from './api-error';

/** Deepest nesting of arrays and objects a request body may have (DB-GPT's bodies need fewer than 10). */
export const MAX_BODY_DEPTH = 64;

/**
 * The JSON body parser with its failures mapped to API errors here, where
 * their cause is still known (413 over the limit, 400 for malformed or
 * undecodable bodies (invalid UTF-8 included) and for nesting deeper than `MAX_BODY_DEPTH`, 415 for a
 * body that is not JSON). Runs before authentication, so every route, known
 * or not, answers a hostile body with a 4xx and does no work for it.
 */
export function jsonBodyParser(limit: string): RequestHandler {
  const parse = json({
    limit,
    // Invalid UTF-8 would be decoded to U+FFFD silently and stored so: refuse it instead.
    verify: (req, _res, buf) => {
      if (isUtf8(buf)) return;
      throw Object.assign(new Error('The request body is not valid UTF-8.'), { type: 'entity.invalid.utf8' });
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if (hasBody(req) && !acceptedMediaType(req.headers['content-type'])) {
      return next(
        new ApiError(
          HttpStatus.UNSUPPORTED_MEDIA_TYPE,
          'unsupported_media_type',
          'The request body must be JSON: send Content-Type: application/json.',
        ),
      );
    }
    parse(req, res, (err?: unknown) => {
      if (err !== undefined) return next(bodyError(err, limit));
      if (depthExceeds(req.body, MAX_BODY_DEPTH)) {
        return next(
          ApiError.badRequest('invalid_json', `The request body is nested deeper than ${MAX_BODY_DEPTH} levels.`),
        );
      }
      next();
    });
  };
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** JSON (`application/json`, `…+json`); multipart uploads are left to the routes that take files. */
function acceptedMediaType(header: string | undefined): boolean {
  const type = (header ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json') || type === 'multipart/form-data';
}

/** True when `value` nests arrays/objects deeper than `max` (iterative: no recursion on hostile input). */
export function depthExceeds(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const child of Object.values(v as object)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

function bodyError(err: unknown, limit: string): unknown {
  const { type, status } = err as { type?: string; status?: number };
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
      'unsupported_media_type',
      'The request body encoding is not supported (Content-Encoding: gzip, deflate, br or none; charset utf-8).',
    );
  }
  if (type === 'entity.invalid.utf8')
    return ApiError.badRequest('invalid_body', 'The request body is not valid UTF-8.');
  if (type === 'request.aborted')
    return ApiError.badRequest('validation_error', 'The request body was not received in full.');
  // Anything else the parser rejects as the client's fault (a corrupt gzip/deflate/br stream, a short body).
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return ApiError.badRequest('invalid_body', 'The request body could not be read (corrupt or truncated encoding).');
  }
  return err;
}
