import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { KeysService } from '../keys/keys.service';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable } from '../database/db-errors';
import { ApiError, errorBody } from './api-error';
import { DomainError, httpStatus } from './domain-error';

/** Routes open without a key; anything else under /api that no route serves is a 401 before a 404. */
const PUBLIC_PATHS = /^\/api\/(health|ready|docs)(\/|-json|$)/;

/**
 * Turns every failure into the dual error shape with a real status. Never
 * a stack trace or a driver message in a body; unexpected errors are logged
 * with their stack and answered with a generic 500.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly keys: KeysService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    // Asynchronous only for an unrouted request, whose key may have to be looked up.
    this.authFirst(exception, req).then(
      (answered) => this.answer(answered, exception, req, res),
      (e: unknown) => this.answer(e, e, req, res),
    );
  }

  private answer(answered: unknown, exception: unknown, req: Request, res: Response): void {
    const { status, code, message, param, headers } = this.describe(answered, req);
    if (code === 'database_unavailable') {
      // An outage, not a bug: one line without a stack, however many requests hit it.
      this.logger.warn(`${req.method} ${rawPath(req)}: database unavailable (${(exception as Error)?.message})`);
    } else if (status >= 500) {
      this.logger.error(`${req.method} ${req.originalUrl} failed: ${(exception as Error)?.stack ?? String(exception)}`);
    }
    if (res.headersSent) {
      // A stream already started: its own code reports errors in-band; just end it.
      if (!res.writableEnded) res.end();
      return;
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.status(status).json(errorBody(status, code, message, param));
  }

  /**
   * A request no route serves (an unknown path, a path that cannot be
   * percent-decoded) learns nothing about the routes without a key: 401.
   */
  private async authFirst(exception: unknown, req: Request): Promise<unknown> {
    if (exception instanceof ApiError) return exception;
    const status =
      (exception as { status?: unknown })?.status ?? (exception as { getStatus?: () => number })?.getStatus?.();
    const unrouted = status === HttpStatus.NOT_FOUND || exception instanceof URIError || isDecodeError(exception);
    if (!unrouted || !(req.originalUrl ?? '').startsWith('/api') || PUBLIC_PATHS.test(rawPath(req))) return exception;
    if (!(await this.keys.authenticateRequest(req))) return this.keys.refusal(req);
    if (status === HttpStatus.NOT_FOUND) return exception;
    return ApiError.badRequest('validation_error', 'The request path is not valid percent-encoding.');
  }

  private describe(exception: unknown, req: Request) {
    const none: Record<string, string> = {};
    if (exception instanceof ApiError) {
      return {
        status: exception.getStatus(),
        code: exception.code,
        message: exception.message,
        param: exception.param,
        headers: exception.headers,
      };
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        code: 'database_unavailable' as const,
        message: 'The database is unavailable or too slow; retry later.',
        param: null,
        headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_S) },
      };
    }
    if (exception instanceof DomainError) {
      return {
        status: httpStatus(exception.kind),
        code: exception.code,
        message: exception.message,
        param: exception.param,
        headers: none,
      };
    }
    if (exception instanceof QueryFailedError) {
      // Postgres text cannot hold NUL; the input is at fault, not the server.
      const code = (exception.driverError as { code?: string }).code;
      if (code === '22021' || code === '22P05') {
        return {
          status: 400,
          code: 'validation_error',
          message: 'Text must not contain NUL (\\u0000) characters.',
          param: null,
          headers: none,
        };
      }
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus() as HttpStatus;
      if (status === HttpStatus.NOT_FOUND) {
        return {
          status,
          code: 'route_not_found',
          message: `No route ${req.method} ${rawPath(req)}.`,
          param: null,
          headers: none,
        };
      }
      if (status === HttpStatus.TOO_MANY_REQUESTS) {
        return {
          status,
          code: 'rate_limit_exceeded',
          message: 'Too many requests; retry later.',
          param: null,
          headers: none,
        };
      }
      // Framework-raised (e.g. a malformed URL): its message is safe and short.
      return {
        status,
        code: Number(status) >= 500 ? 'internal_error' : 'invalid_request',
        message: exception.message,
        param: null,
        headers: none,
      };
    }
    return { status: 500, code: 'internal_error', message: 'Internal server error.', param: null, headers: none };
  }
}

/** The path as sent (not decoded: it may not decode). */
function rawPath(req: Request): string {
  return (req.originalUrl ?? req.url ?? '').split('?')[0];
}

/** Express's router failing to decode a `%`-escape of a path parameter (400, "Failed to decode param"). */
function isDecodeError(e: unknown): boolean {
  const { status, message } = (e ?? {}) as { status?: unknown; message?: unknown };
  return status === 400 && typeof message === 'string' && /failed to decode param/i.test(message);
}
