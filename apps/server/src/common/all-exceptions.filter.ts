import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { ApiError, errorBody } from './api-error';
import { DomainError, httpStatus } from './domain-error';

/**
 * Turns every failure into the dual error shape with a real status. Never
 * a stack trace or a driver message in a body; unexpected errors are logged
 * with their stack and answered with a generic 500.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const { status, code, message, param, headers } = this.describe(exception, req);
    if (status >= 500) {
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
          message: `No route ${req.method} ${req.path}.`,
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
