import { Logger } from '@nestjs/common';
import { createRootLogger } from './logging';
import { PinoNestLogger } from './nest-logger';
import { currentRequest, RequestLogContext, runInRequest } from './request-context';

function capture(logLevel = 'debug') {
  const lines: string[] = [];
  const root = createRootLogger(
    { logLevel, apiKeys: [] },
    { destination: { write: (s: string) => void lines.push(s) } },
  );
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { root, logger: new PinoNestLogger(root), lines, parsed };
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PinoNestLogger', () => {
  it("maps Nest's levels to pino's and puts the last param in `context`", () => {
    const { logger, parsed } = capture('trace');
    logger.log('a', 'Ctx');
    logger.warn('b', 'Ctx');
    logger.error('c', 'Ctx');
    logger.debug('d', 'Ctx');
    logger.verbose('e', 'Ctx');
    logger.fatal('f', 'Ctx');
    logger.log('no context');
    expect(parsed().map((l) => [l.level, l.msg, l.context ?? null])).toEqual([
      ['info', 'a', 'Ctx'],
      ['warn', 'b', 'Ctx'],
      ['error', 'c', 'Ctx'],
      ['debug', 'd', 'Ctx'],
      ['trace', 'e', 'Ctx'],
      ['fatal', 'f', 'Ctx'],
      ['info', 'no context', null],
    ]);
  });

  it('merges an object message into the line and puts an Error under `err`', () => {
    const { logger, parsed } = capture();
    logger.warn({ msg: 'slow query', ms: 12 }, 'Database');
    logger.error(new Error('boom'), 'Chat');
    const [slow, boom] = parsed();
    expect(slow).toMatchObject({ level: 'warn', msg: 'slow query', ms: 12, context: 'Database' });
    expect(boom).toMatchObject({ level: 'error', context: 'Chat', err: { type: 'Error', message: 'boom' } });
    expect((boom.err as { stack: string }).stack).toMatch(/^Error: boom\n\s+at /);
  });

  it("turns Nest's (message, stack, context) error calls into an `err` with that stack", () => {
    const { logger, parsed } = capture();
    logger.error('Unhandled', 'Error: Unhandled\n    at handler (x.ts:1:1)', 'ExceptionsHandler');
    expect(parsed()).toEqual([
      expect.objectContaining({
        level: 'error',
        context: 'ExceptionsHandler',
        err: expect.objectContaining({ message: 'Unhandled', stack: 'Error: Unhandled\n    at handler (x.ts:1:1)' }),
      }),
    ]);
  });

  it('writes nothing below the level', () => {
    const { logger, lines } = capture('warn');
    logger.log('quiet', 'Ctx');
    logger.debug({ big: 'object' }, 'Ctx');
    expect(lines).toEqual([]);
  });

  it("gives a line written inside a request that request's reqId, and none outside", () => {
    const { root, logger, parsed } = capture();
    logger.log('before', 'Ctx');
    runInRequest(new RequestLogContext(root, 'req-a'), () => logger.log('inside', 'Ctx'));
    logger.log('after', 'Ctx');
    expect(parsed().map((l) => [l.msg, l.reqId ?? null])).toEqual([
      ['before', null],
      ['inside', 'req-a'],
      ['after', null],
    ]);
    expect(currentRequest()).toBeUndefined();
  });

  it('reaches the request through Nest loggers and across awaits, never mixing concurrent requests', async () => {
    const { root, logger, parsed } = capture();
    Logger.overrideLogger(logger);
    try {
      const nest = new Logger('Work');
      const ids = Array.from({ length: 20 }, (_, i) => `req-${i}`);
      // Each request logs, yields for a different time (so their steps interleave), and logs again.
      await Promise.all(
        ids.map((id, i) =>
          runInRequest(new RequestLogContext(root, id), async () => {
            nest.log(`${id} start`);
            await tick((ids.length - i) % 7);
            await Promise.resolve();
            nest.log(`${id} end`);
          }),
        ),
      );
    } finally {
      Logger.overrideLogger(false);
    }
    const lines = parsed();
    expect(lines).toHaveLength(40);
    for (const line of lines) {
      expect(line.context).toBe('Work');
      expect((line.msg as string).split(' ')[0]).toBe(line.reqId);
    }
    expect(new Set(lines.map((l) => l.msg)).size).toBe(40);
    // The interleaving happened: some request ended after a later one started.
    const order = lines.map((l) => l.msg as string);
    expect(order.indexOf('req-19 start')).toBeLessThan(order.indexOf('req-0 end'));
  });
});
