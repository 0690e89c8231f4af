/**
 * Structured logs: JSON lines captured from a real server through
 * `createServer(..., { logDestination })`: request ids on every request line,
 * credentials and API keys never printed.
 */
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createServer } from '../apps/server/src/bootstrap';
import { loadConfig } from '../apps/server/src/config/config';
import { createTestDatabase, TestDatabase } from './support/database';
import { API_KEY, AUTH } from './support/server';

const APPS = '/api/v2/serve/apps';
const OTHER_KEY = 'second-key-9876543210';

interface Line {
  level: string;
  time: string;
  msg: string;
  reqId?: string;
  req?: { method: string; url: string; headers: Record<string, string> };
  res?: { statusCode: number };
  [k: string]: unknown;
}

describe('structured logs', () => {
  const raw: string[] = [];
  const lines = () => raw.map((l) => JSON.parse(l) as Line);
  let db: TestDatabase;
  let app: NestExpressApplication;
  let origin: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = loadConfig({ API_KEYS: `${API_KEY},${OTHER_KEY}`, DATABASE_URL: db.url, LOG_LEVEL: 'debug' });
    app = await createServer(
      { ...config, databaseUrl: db.url },
      { logger: false, logDestination: { write: (s: string) => void raw.push(s) } },
    );
    // Stands in for a controller or service that logs while serving a request (e.g. the chat module).
    app.use((req: { headers: Record<string, unknown> }, _res: unknown, next: () => void) => {
      if (req.headers['x-probe']) new Logger('Probe').log('serving a probed request');
      next();
    });
    // A handler that logs, waits (so concurrent requests interleave) and logs again.
    app.use((req: { headers: Record<string, unknown> }, _res: unknown, next: () => void) => {
      const wait = Number(req.headers['x-probe-wait']);
      if (!wait) return next();
      const probe = new Logger('Probe');
      probe.log(`before waiting ${wait} ms`);
      setTimeout(() => {
        probe.log(`after waiting ${wait} ms`);
        next();
      }, wait);
    });
    await app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  /** Lines once the access-log line of `reqId` has been written. */
  async function linesOf(reqId: string): Promise<Line[]> {
    for (let i = 0; i < 50 && !lines().some((l) => l.reqId === reqId && l.res); i++)
      await new Promise((r) => setTimeout(r, 10));
    return lines().filter((l) => l.reqId === reqId);
  }

  it('writes one JSON object per line, with level names and ISO times (startup included)', () => {
    expect(raw.length).toBeGreaterThan(0);
    for (const s of raw) {
      expect(s.endsWith('\n')).toBe(true);
      const line = JSON.parse(s) as Line;
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
      expect(new Date(line.time).toISOString()).toBe(line.time);
    }
    expect(lines().some((l) => l.context === 'NestApplication')).toBe(true);
  });

  it('puts the request id on the access-log line, given or generated, and echoes it', async () => {
    const res = await request(origin).get(APPS).set(AUTH).set('X-Request-Id', 'log-test-1');
    expect(res.headers['x-request-id']).toBe('log-test-1');
    const mine = await linesOf('log-test-1');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: 'info',
      msg: 'request completed',
      route: APPS,
      req: { method: 'GET', url: APPS },
      res: { statusCode: 200 },
    });

    const gen = await request(origin).get(APPS).set(AUTH);
    const id = gen.headers['x-request-id'];
    expect((await linesOf(id)).map((l) => l.msg)).toEqual(['request completed']);
  });

  it("gives lines that Nest loggers write while serving a request the request's id", async () => {
    await request(origin).get(APPS).set(AUTH).set('X-Probe', '1').set('X-Request-Id', 'log-test-probe');
    const mine = await linesOf('log-test-probe');
    expect(mine.map((l) => [l.context ?? null, l.msg])).toEqual([
      ['Probe', 'serving a probed request'],
      [null, 'request completed'],
    ]);
  });

  it('never mixes the request ids of concurrent requests', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `log-test-concurrent-${i}`);
    // Later requests wait less, so they log their second line before earlier ones do.
    const answers = await Promise.all(
      ids.map((id, i) =>
        request(origin)
          .get(APPS)
          .set(AUTH)
          .set('X-Request-Id', id)
          .set('X-Probe-Wait', String(5 + (ids.length - i) * 10)),
      ),
    );
    expect(answers.map((r) => r.headers['x-request-id'])).toEqual(ids);
    for (const [i, id] of ids.entries()) {
      const wait = 5 + (ids.length - i) * 10;
      expect((await linesOf(id)).map((l) => [l.context ?? null, l.msg])).toEqual([
        ['Probe', `before waiting ${wait} ms`],
        ['Probe', `after waiting ${wait} ms`],
        [null, 'request completed'],
      ]);
    }
    const probeLines = lines().filter((l) => /^(before|after) waiting/.test(l.msg));
    expect(probeLines).toHaveLength(2 * ids.length);
    // The requests overlapped: the last one finished waiting before the first did.
    const order = probeLines.map((l) => l.reqId);
    expect(order.lastIndexOf(ids[ids.length - 1])).toBeLessThan(order.lastIndexOf(ids[0]));
  });

  it('logs a body rejected before routing (413) with its request id, at warn', async () => {
    await request(origin)
      .post(APPS)
      .set(AUTH)
      .set('X-Request-Id', 'log-test-413')
      .send({ x: 'y'.repeat(2 * 1024 * 1024) });
    const mine = await linesOf('log-test-413');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: 'warn',
      msg: 'request completed',
      route: 'unmatched',
      res: { statusCode: 413 },
    });
  });

  it('never prints Authorization, X-Api-Key, cookies or an API key anywhere in a line', async () => {
    await request(origin)
      .get(`${APPS}?app_name=${OTHER_KEY}`)
      .set(AUTH)
      .set('X-Api-Key', OTHER_KEY)
      .set('Cookie', 'session=cookie-secret-42')
      .set('X-Request-Id', 'log-test-secret');
    await request(origin)
      .get(APPS)
      .set('Authorization', 'Bearer not-a-key-but-secret')
      .set('X-Request-Id', 'log-test-wrong');
    const [secret] = await linesOf('log-test-secret');
    const [wrong] = await linesOf('log-test-wrong');
    expect(secret.req!.headers.authorization).toBe('[REDACTED]');
    expect(secret.req!.headers['x-api-key']).toBe('[REDACTED]');
    expect(secret.req!.headers.cookie).toBe('[REDACTED]');
    expect(secret.req!.url).toBe(`${APPS}?app_name=[REDACTED]`);
    expect(wrong.req!.headers.authorization).toBe('[REDACTED]');
    expect(wrong.res!.statusCode).toBe(401);
    const all = raw.join('');
    for (const s of [API_KEY, OTHER_KEY, 'cookie-secret-42', 'not-a-key-but-secret', 'Bearer '])
      expect(all).not.toContain(s);
  });
});
