import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLoggerPort } from 'typeorm';

const MAX_QUERY_CHARS = 500;
const clip = (query: string) => (query.length > MAX_QUERY_CHARS ? `${query.slice(0, MAX_QUERY_CHARS)}…` : query);

/**
 * TypeORM's output as structured lines through Nest's `Logger` (pino, with
 * the request id when inside a request) instead of TypeORM's plain-text
 * `console.log`. Never logs query parameters: they hold user text (app
 * definitions, chat messages). A constraint violation (SQLSTATE class 23,
 * e.g. a duplicate name answered with 409) is expected and logged at debug.
 *
 * Wire it in `dataSourceOptions`: `logger: new TypeOrmLogger(), logging: ['error', 'warn', 'migration']`.
 */
export class TypeOrmLogger implements TypeOrmLoggerPort {
  private readonly logger = new Logger('Database');

  logQuery(): void {
    // Not logged: every query at info would drown the logs and carry user text.
  }

  logQueryError(error: string | Error, query: string, _parameters?: unknown): void {
    const code = typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
    const entry = {
      msg: 'query failed',
      query: clip(query),
      error: typeof error === 'string' ? error : error.message,
      code,
    };
    if (typeof code === 'string' && code.startsWith('23')) this.logger.debug(entry);
    else this.logger.warn(entry);
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ msg: 'slow query', ms: time, query: clip(query) });
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(message);
    else this.logger.log(message);
  }
}
