import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';
import { requestLogger } from './request-context';

/** A stack trace, as Nest's exception handlers pass it after the message. */
const STACK = /\n\s*at /;

/**
 * Nest's `LoggerService` over the root pino logger, installed with
 * `app.useLogger` so that every `new Logger(context)` of the code base writes
 * here. A line written while a request is served goes through that request's
 * logger (it carries `reqId`); other lines through the root logger.
 *
 * Nest's call shape is `(message, ...params, context)`: the context becomes
 * the `context` field; an object message is merged into the line, an `Error`
 * becomes `err`; `error(message, stack, context)` (Nest's exception
 * handlers) becomes an `err` with that stack; any other params are pino's
 * format arguments.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    // A request's logger has the root's level: a line below it costs no request logger.
    if (!this.root.isLevelEnabled(level)) return;
    const logger = requestLogger(this.root);
    const fields: Record<string, unknown> = {};
    const args = params.length > 0 ? params.slice(0, -1) : params;
    if (params.length > 0) fields.context = params[params.length - 1];
    if (message instanceof Error) {
      fields.err = message;
      logger[level](fields, ...(args as []));
    } else if (typeof message === 'object' && message !== null) {
      logger[level](Object.assign(fields, message), ...(args as []));
    } else if (
      level === 'error' &&
      typeof message === 'string' &&
      args.length === 1 &&
      typeof args[0] === 'string' &&
      STACK.test(args[0])
    ) {
      const err = new Error(message);
      err.stack = args[0];
      fields.err = err;
      logger.error(fields);
    } else {
      logger[level](fields, message as string, ...args);
    }
  }
}
