import { createServer, IncomingMessage, request as httpRequest, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessLog, createRootLogger, scrubbingStream } from './logging';
import { requestIdFrom } from './request-id';

function capture(config: { logLevel?: string; apiKeys?: string[] } = {}) {
  const lines: string[] = [];
  const logger = createRootLogger(
    { logLevel: config.logLevel ?? 'info', apiKeys: config.apiKeys ?? [] },
    { destination: { write: (s: string) => void lines.push(s) } },
  );
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createRootLogger', () => {
  it('writes JSON lines with level names, ISO time and the service name', () => {
    const { logger, parsed } = capture();
    logger.info({ a: 1 }, 'hello');
    expect(parsed()[0]).toMatchObject({
      level: 'info',
      name: 'ensemble',
      msg: 'hello',
      a: 1,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('honours the level, silent included', () => {
    const quiet = capture({ logLevel: 'warn' });
    quiet.logger.info('no');
    quiet.logger.warn('yes');
    expect(quiet.parsed().map((l) => l.msg)).toEqual(['yes']);
    const silent = capture({ logLevel: 'silent' });
    silent.logger.fatal('never');
    expect(silent.lines).toEqual([]);
  });

  it('redacts credentials by path', () => {
    const { logger, parsed } = capture();
    logger.info({
      req: { headers: { authorization: 'Bearer x', 'x-api-key': 'y', cookie: 'z', accept: '*/*' } },
      apiKey: 'k',
      config: { apiKeys: ['k'] },
    });
    expect(parsed()[0]).toMatchObject({
      req: { headers: { authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', cookie: '[REDACTED]', accept: '*/*' } },
      apiKey: '[REDACTED]',
      config: { apiKeys: '[REDACTED]' },
    });
  });

  it('scrubs configured API keys wherever they appear', () => {
    const { logger, lines } = capture({ apiKeys: ['sk-live-123', 'we"ird'] });
    logger.info({ url: '/x?key=sk-live-123', note: 'we"ird' }, 'pasted sk-live-123 in a message');
    expect(lines.join('')).not.toContain('sk-live-123');
    expect(lines.join('')).not.toContain('we\\"ird');
    expect(JSON.parse(lines[0])).toMatchObject({
      url: '/x?key=[REDACTED]',
      note: '[REDACTED]',
      msg: 'pasted [REDACTED] in a message',
    });
  });
});

describe('scrubbingStream', () => {
  it('returns the destination itself when there is nothing to scrub', () => {
    const dest = { write: () => undefined };
    expect(scrubbingStream(dest, [])).toBe(dest);
  });

  it('scrubs keys written with percent-escapes in any mix and hex case, and nothing else', () => {
    const out: string[] = [];
    const stream = scrubbingStream({ write: (l: string) => void out.push(l) }, ['k-adv2', 'a.b+c']);
    stream.write('q=k%2Dadv2 p=%6b%2dadv2 r=%6B-adv2 s=/k-adv2/ t=a%2Eb%2bc u=axb+c v=k%2Eadv2\n');
    expect(out).toEqual(['q=[REDACTED] p=[REDACTED] r=[REDACTED] s=/[REDACTED]/ t=[REDACTED] u=axb+c v=k%2Eadv2\n']);
  });
});

describe('requestIdFrom', () => {
  it('keeps sane ids and replaces others with a UUID', () => {
    expect(requestIdFrom('abc-123')).toBe('abc-123');
    expect(requestIdFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    );
    const uuid = /^[0-9a-f-]{36}$/;
    for (const bad of [undefined, '', 'a b', 'x'.repeat(129), 'line\nbreak', ['a', 'b']])
      expect(requestIdFrom(bad as never)).toMatch(uuid);
  });
});

describe('AccessLog over a real server', () => {
  /** A node:http server whose requests go through `record` at their end, as `requestObserver` does. */
  async function serve(logLevel: string, handler: (req: IncomingMessage, res: ServerResponse) => void) {
    const { logger, parsed } = capture({ logLevel });
    const access = new AccessLog(logger);
    const server = createServer((req, res) => {
      const started = process.hrtime.bigint();
      let done = false;
      const record = () => {
        if (done) return;
        done = true;
        access.write(req, res, 'rid-1', started, !res.writableFinished);
      };
      res.once('finish', record);
      res.once('close', record);
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return { port, parsed, close: () => new Promise((resolve) => server.close(resolve)) };
  }
  const get = (port: number, path: string) =>
    new Promise<void>((resolve) => {
      const req = httpRequest({ port, path, host: '127.0.0.1' }, (res) => res.resume().on('end', resolve));
      req.end();
    });
  const waitFor = async (check: () => boolean) => {
    for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('writes one line per response at the level of its status, "request errored" for 5xx', async () => {
    const s = await serve('info', (req, res) => {
      res.statusCode = req.url === '/boom' ? 500 : req.url === '/missing' ? 404 : 200;
      res.end('x');
    });
    try {
      await get(s.port, '/ok?x=1');
      await get(s.port, '/missing');
      await get(s.port, '/boom');
      await waitFor(() => s.parsed().length === 3);
      expect(s.parsed().map((l) => [l.level, l.msg, (l.res as { statusCode: number }).statusCode])).toEqual([
        ['info', 'request completed', 200],
        ['warn', 'request completed', 404],
        ['error', 'request errored', 500],
      ]);
      expect(s.parsed()[0]).toMatchObject({
        reqId: 'rid-1',
        req: { method: 'GET', url: '/ok?x=1' },
        route: 'unmatched',
        responseTime: expect.any(Number),
      });
    } finally {
      await s.close();
    }
  });

  it('says "request aborted" when the client left before the response ended', async () => {
    const s = await serve('info', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    });
    try {
      await new Promise<void>((resolve) => {
        const req = httpRequest({ port: s.port, path: '/stream', host: '127.0.0.1' }, (res) =>
          res.once('data', () => {
            req.destroy();
            resolve();
          }),
        );
        req.end();
      });
      await waitFor(() => s.parsed().length === 1);
      expect(s.parsed()[0]).toMatchObject({ level: 'info', msg: 'request aborted', reqId: 'rid-1' });
    } finally {
      await s.close();
    }
  });

  it('writes nothing below the level: probes at debug, successes under warn', async () => {
    const s = await serve('warn', (_req, res) => res.end('ok'));
    try {
      await get(s.port, '/api/health');
      await get(s.port, '/fine');
      await new Promise((r) => setTimeout(r, 50));
      expect(s.parsed()).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
