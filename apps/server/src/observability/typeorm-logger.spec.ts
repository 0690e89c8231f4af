import { Logger, LoggerService } from '@nestjs/common';
import { TypeOrmLogger } from './typeorm-logger';

describe('TypeOrmLogger', () => {
  const calls: Array<[string, unknown]> = [];
  const sink: LoggerService = {
    log: (m) => void calls.push(['log', m]),
    warn: (m) => void calls.push(['warn', m]),
    error: (m) => void calls.push(['error', m]),
    debug: (m) => void calls.push(['debug', m]),
  };
  beforeAll(() => Logger.overrideLogger(sink));
  afterAll(() => Logger.overrideLogger(false));
  beforeEach(() => (calls.length = 0));

  it('logs failed queries without their parameters; constraint violations at debug', () => {
    const logger = new TypeOrmLogger();
    const unique = Object.assign(new Error('duplicate key value violates unique constraint "apps_app_name_key"'), {
      code: '23505',
    });
    logger.logQueryError(unique, 'UPDATE "apps" SET "app_name" = $1', ['secret user text']);
    logger.logQueryError(new Error('connection reset'), 'SELECT 1', ['p']);
    expect(calls).toEqual([
      [
        'debug',
        { msg: 'query failed', query: 'UPDATE "apps" SET "app_name" = $1', error: unique.message, code: '23505' },
      ],
      ['warn', { msg: 'query failed', query: 'SELECT 1', error: 'connection reset', code: undefined }],
    ]);
    expect(JSON.stringify(calls)).not.toContain('secret user text');
  });

  it('never logs plain queries', () => {
    new TypeOrmLogger().logQuery();
    expect(calls).toEqual([]);
  });
});
