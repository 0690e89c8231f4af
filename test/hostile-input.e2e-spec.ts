/**
 * Hostile input on every route, before authentication too: corrupt
 * compressed bodies, deep nesting, bodies that are not JSON, ambiguous page
 * numbers; keys spelled with percent-escapes kept out of the log; upstream
 * error text kept out of bodies; unknown routes and undecodable paths
 * answered 401 before anything about routing. All over real sockets against
 * the whole server on real Postgres, its JSON log captured.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { createServer } from '../apps/server/src/bootstrap';
import { loadConfig } from '../apps/server/src/config/config';
import { createTestDatabase, TestDatabase } from './support/database';
import { expectDualError } from './support/expect-error';
import { FakeOpenAI, startFakeOpenAI } from './support/fake-openai';
import { API_KEY, AUTH } from './support/server';

const APPS = '/api/v2/serve/apps';
const CHAT = '/api/v2/chat/completions';
const FAKE_KEY_ENV = 'ENSEMBLE_TEST_HOSTILE_UPSTREAM_KEY';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: unknown;
}

interface Line {
  level: string;
  msg: string;
  [k: string]: unknown;
}

describe('hostile input, leaks and unknown routes', () => {
  const raw: string[] = [];
  let db: TestDatabase;
  let app: NestExpressApplication;
  let fake: FakeOpenAI;
  let origin: string;
  let dir: string;

  beforeAll(async () => {
    process.env[FAKE_KEY_ENV] = 'sk-hostile-upstream';
    fake = await startFakeOpenAI({ apiKey: 'sk-hostile-upstream' });
    dir = mkdtempSync(join(tmpdir(), 'ensemble-hostile-'));
    const modelsFile = join(dir, 'models.json');
    writeFileSync(
      modelsFile,
      JSON.stringify({
        default: 'fake-gpt',
        models: [
          { name: 'fake-gpt', provider: 'openai', model: 'gpt-4o-mini', base_url: fake.url, api_key_env: FAKE_KEY_ENV },
        ],
      }),
    );
    db = await createTestDatabase();
    const config = loadConfig({ API_KEYS: API_KEY, DATABASE_URL: db.url, MODELS_FILE: modelsFile, LOG_LEVEL: 'info' });
    app = await createServer(
      { ...config, databaseUrl: db.url },
      { logger: false, logDestination: { write: (s: string) => void raw.push(s) } },
    );
    await app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One request over a plain socket: the path and body exactly as given. */
  function send(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: Buffer | string } = {},
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const body = options.body === undefined ? undefined : Buffer.from(options.body);
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (body) headers['Content-Length'] = String(body.length);
      const req = httpRequest({ host: '127.0.0.1', port: new URL(origin).port, method, path, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  const json = (headers: Record<string, string> = AUTH) => ({ 'Content-Type': 'application/json', ...headers });
  const errorLines = () =>
    raw.map((l) => JSON.parse(l) as Line).filter((l) => l.level === 'error' || l.level === 'fatal');

  describe('corrupt compressed bodies', () => {
    const body = Buffer.from(JSON.stringify({ app_name: 'x', team_mode: 'single_agent' }));
    const corrupt: [string, Buffer][] = [
      ['gzip', Buffer.concat([gzipSync(body).subarray(0, 12), Buffer.from('not gzip at all')])],
      ['deflate', Buffer.from('this is not a deflate stream')],
      ['br', Buffer.concat([brotliCompressSync(body).subarray(0, 3), Buffer.from([0xff, 0xff, 0xff, 0xff])])],
    ];

    it.each(corrupt)(
      '%s: 400 invalid_body on every route, with or without a key, and no error logged',
      async (enc, bytes) => {
        const before = errorLines().length;
        for (const [method, path] of [
          ['POST', APPS],
          ['PUT', `${APPS}/some-app`],
          ['POST', CHAT],
          ['POST', '/api/v2/no/such/route'],
        ]) {
          for (const auth of [AUTH, {}]) {
            const res = await send(method, path, { headers: { ...json(auth), 'Content-Encoding': enc }, body: bytes });
            expectDualError(res, 400, 'invalid_body', null);
          }
        }
        expect(errorLines().slice(before)).toEqual([]);
      },
    );

    it('a valid compressed body is still read (gzip, deflate, br)', async () => {
      for (const [enc, zip] of [
        ['gzip', gzipSync],
        ['deflate', deflateSync],
        ['br', brotliCompressSync],
      ] as const) {
        const app = { app_name: `zipped-${enc}`, app_describe: 'd', team_mode: 'single_agent', language: 'en' };
        const res = await send('POST', APPS, {
          headers: { ...json(), 'Content-Encoding': enc },
          body: zip(Buffer.from(JSON.stringify(app))),
        });
        expect(res.status).toBe(201);
        expect((res.body as { data: { app_name: string } }).data.app_name).toBe(`zipped-${enc}`);
      }
    });
  });

  it('JSON nested 5,000 deep is a 400 before validation, on every route, key or not', async () => {
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    const deepArray = '['.repeat(5000) + ']'.repeat(5000);
    const before = errorLines().length;
    for (const [path, body] of [
      [APPS, deep],
      [CHAT, `{"model":"fake-gpt","messages":${deepArray}}`],
      ['/api/v2/nothing', deep],
    ]) {
      for (const auth of [AUTH, {}]) {
        const res = await send('POST', path, { headers: json(auth), body });
        expectDualError(res, 400, 'invalid_json', null);
        expect((res.body as { err_msg: string }).err_msg).toBe('The request body is nested deeper than 64 levels.');
      }
    }
    expect(errorLines().slice(before)).toEqual([]);
  });

  it('a body that is not valid UTF-8 is a 400, not stored with replacement characters', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"app_name":"bad-'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('","team_mode":"single_agent"}'),
    ]);
    for (const auth of [AUTH, {}]) {
      const res = await send('POST', APPS, { headers: json(auth), body: bytes });
      expectDualError(res, 400, 'invalid_body', null);
      expect((res.body as { err_msg: string }).err_msg).toBe('The request body is not valid UTF-8.');
    }
  });

  it('a body that is not JSON (text/plain, form, none) is 415, not a missing field', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const headers: Record<string, string> = { ...AUTH };
      if (type) headers['Content-Type'] = type;
      const res = await send('POST', APPS, { headers, body: '{"app_name":"plain","team_mode":"single_agent"}' });
      expectDualError(res, 415, 'unsupported_media_type', null);
      expect((res.body as { err_msg: string }).err_msg).toBe(
        'The request body must be JSON: send Content-Type: application/json.',
      );
    }
    // No body at all (a GET, a DELETE) needs no type.
    expect((await send('GET', APPS, { headers: AUTH })).status).toBe(200);
  });

  it('POST and PUT /apps accept param_need: null (and recommend_questions, admins) as not given', async () => {
    const created = await send('POST', APPS, {
      headers: json(),
      body: JSON.stringify({
        app_name: 'null-lists',
        app_describe: 'd',
        team_mode: 'single_agent',
        param_need: null,
        recommend_questions: null,
        admins: null,
      }),
    });
    expect(created.status).toBe(201);
    const data = (created.body as { data: { app_code: string; param_need: unknown; admins: unknown } }).data;
    expect(data.param_need).toEqual([]);
    expect(data.admins).toEqual([]);
    const updated = await send('PUT', `${APPS}/${data.app_code}`, {
      headers: json(),
      body: JSON.stringify({ app_describe: 'changed', param_need: null }),
    });
    expect(updated.status).toBe(200);
    expect((updated.body as { data: { param_need: unknown; app_describe: string } }).data).toMatchObject({
      param_need: [],
      app_describe: 'changed',
    });
  });

  it('page given twice, or not in decimal digits, is a 400 about page', async () => {
    const twice = await send('GET', `${APPS}?page=1&page=2`, { headers: AUTH });
    expectDualError(twice, 400, 'validation_error', 'page');
    expect((twice.body as { err_msg: string }).err_msg).toBe('page must be given once');
    for (const bad of ['0x10', '1e3', '16.0', '-1']) {
      const res = await send('GET', `${APPS}?page=${bad}`, { headers: AUTH });
      expectDualError(res, 400, 'validation_error', 'page');
      expect((res.body as { err_msg: string }).err_msg).toBe('page must be a whole number written in decimal digits');
    }
    const sized = await send('GET', `${APPS}?page_size=0x10`, { headers: AUTH });
    expectDualError(sized, 400, 'validation_error', 'page_size');
    expect((await send('GET', `${APPS}?page=2&page_size=5`, { headers: AUTH })).status).toBe(200);
  });

  it('scrubs a key spelled with percent-escapes from the access log (query and path)', async () => {
    const encoded = API_KEY.replace('-', '%2D');
    const lower = API_KEY.replace('-', '%2d').replace('t', '%74');
    await send('GET', `${APPS}?token=${encoded}`, { headers: { ...AUTH, 'X-Request-Id': 'scrub-q' } });
    await send('GET', `/api/v2/x/${lower}/y`, { headers: { 'X-Request-Id': 'scrub-p' } });
    await new Promise((r) => setTimeout(r, 100));
    const lines = raw.filter((l) => l.includes('"scrub-q"') || l.includes('"scrub-p"'));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const all = raw.join('');
    for (const s of [API_KEY, encoded, lower, '0123456789']) expect(all).not.toContain(s);
    expect(lines.some((l) => l.includes('token=[REDACTED]'))).toBe(true);
    expect(lines.some((l) => l.includes('/api/v2/x/[REDACTED]/y'))).toBe(true);
  });

  describe('upstream failures', () => {
    const leaky = '<html><body>502 Bad Gateway at gw-7.internal.corp:8443 /srv/llm/secret.conf</body></html>';

    it('names the model and the kind; the upstream text goes to the log only', async () => {
      fake.setHandler(() => ({ status: 502, errorBody: leaky }));
      for (const stream of [true, false]) {
        const res = await send('POST', CHAT, {
          headers: json(),
          body: JSON.stringify({ model: 'fake-gpt', messages: 'hi', stream }),
        });
        expectDualError(res, 503, 'upstream_error', null);
        expect((res.body as { err_msg: string }).err_msg).toBe('The model "fake-gpt" failed (upstream error).');
        expect(res.text).not.toMatch(/internal\.corp|secret\.conf|html|Bad Gateway/i);
      }
      expect(raw.some((l) => l.includes('gw-7.internal.corp'))).toBe(true);
    });

    it("a team run's view and stored error name the model and the kind, not the upstream's text", async () => {
      const created = await send('POST', APPS, {
        headers: json(),
        body: JSON.stringify({
          app_name: 'leak-check',
          team_mode: 'single_agent',
          details: [{ agent_name: 'Summarizer' }],
        }),
      });
      const appCode = (created.body as { data: { app_code: string } }).data.app_code;
      fake.setHandler(() => ({ status: 401, errorBody: leaky }));
      const res = await send('POST', CHAT, {
        headers: json(),
        body: JSON.stringify({
          model: 'fake-gpt',
          messages: 'hi',
          chat_mode: 'chat_app',
          chat_param: appCode,
          stream: true,
        }),
      });
      expect(res.status).toBe(200);
      expect(res.text).toContain('the LLM call to \\"fake-gpt\\" failed (auth, HTTP 401)');
      expect(res.text).not.toMatch(/internal\.corp|secret\.conf|html|Bad Gateway/i);
      const convUid = res.headers['x-conv-uid'] as string;
      const stored = await send('GET', `/api/v2/conversations/${convUid}`, { headers: AUTH });
      expect(stored.text).toContain('failed (auth, HTTP 401)');
      expect(stored.text).not.toMatch(/internal\.corp|secret\.conf|html/i);
    });

    it("an upstream 429 is upstream_rate_limited (not our own rate_limit_exceeded), with the upstream's Retry-After", async () => {
      fake.setHandler(() => ({ status: 429, headers: { 'retry-after': '9' }, errorBody: leaky }));
      const res = await send('POST', CHAT, {
        headers: json(),
        body: JSON.stringify({ model: 'fake-gpt', messages: 'hi' }),
      });
      expectDualError(res, 429, 'upstream_rate_limited', null);
      expect(res.headers['retry-after']).toBe('9');
      expect((res.body as { err_msg: string }).err_msg).toBe(
        'The model "fake-gpt" is rate limited by its provider; retry later.',
      );
      expect(res.text).not.toMatch(/internal\.corp/);
    });
  });

  describe('routes no one may map without a key', () => {
    it('unknown routes and methods under /api are 401 without a key, 404 with one', async () => {
      for (const [method, path] of [
        ['GET', '/api/v2/serve/secret-admin'],
        ['DELETE', APPS],
        ['GET', '/api/v3/anything?x=1'],
        ['POST', '/api/healthz'],
      ]) {
        expectDualError(await send(method, path), 401, 'invalid_api_key', null);
        expectDualError(
          await send(method, path, { headers: { Authorization: 'Bearer wrong' } }),
          401,
          'invalid_api_key',
          null,
        );
        expectDualError(await send(method, path, { headers: AUTH }), 404, 'route_not_found', null);
      }
    });

    it('a path that is not valid percent-encoding is 401 without a key, 400 with one', async () => {
      for (const path of [`${APPS}/%E0%A4%A`, `${APPS}/%ZZ`, '/api/v2/serve/%FF%FE/x']) {
        expectDualError(await send('GET', path), 401, 'invalid_api_key', null);
        const res = await send('GET', path, { headers: AUTH });
        expect([400, 404]).toContain(res.status);
        expect(res.status === 400 ? 'validation_error' : 'route_not_found').toBe(
          (res.body as { err_code: string }).err_code,
        );
      }
      expectDualError(await send('GET', `${APPS}/%E0%A4%A`, { headers: AUTH }), 400, 'validation_error', null);
    });

    it('the public routes stay open', async () => {
      expect((await send('GET', '/api/health')).status).toBe(200);
      expect((await send('GET', '/api/ready')).status).toBe(200);
      const docs = await send('GET', '/api/docs-json');
      expect(docs.status).toBe(200);
      // The document says so: 415 where a body is taken, 503 (with Retry-After) everywhere a key is needed.
      const responses = (docs.body as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> })
        .paths[APPS];
      expect(Object.keys(responses.post.responses)).toEqual(expect.arrayContaining(['401', '413', '415', '503']));
      expect(Object.keys(responses.get.responses)).toEqual(expect.arrayContaining(['401', '503']));
      expect(responses.get.responses['503']).toMatchObject({ headers: { 'Retry-After': expect.any(Object) } });
    });
  });
});
