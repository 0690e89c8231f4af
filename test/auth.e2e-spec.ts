/**
 * the auth contract (README, Authentication): every route is guarded by an API key, deny by default; only
 * health/readiness and the API docs answer without one. The routes are
 * listed from the running server (Express's router, cross-checked against
 * every Nest controller's metadata), so a route added later by any module is
 * swept too, and one that answers without a key fails this file.
 */
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { AppModule } from '../apps/server/src/app.module';
import { Public } from '../apps/server/src/auth/public.decorator';
import { API_PREFIX } from '../apps/server/src/bootstrap';
import { ConfigError, loadConfig } from '../apps/server/src/config/config';
import { listNestRoutes, probe, ProbeResponse, RouteRef, routeKey, samplePath } from './support/routes';
import { API_KEY, AUTH, listRoutes, startTestServer, TestServer } from './support/server';

const SECOND_KEY = 'second-key-ABCDEF';
const THIRD_KEY = 'k3';
const APPS = '/api/v2/serve/apps';

/** The only routes that may answer without a key: health, readiness and the API docs (UI, its assets, JSON, YAML). */
const isPublicPath = (path: string) =>
  path === '/api/health' ||
  path === '/api/ready' ||
  path === '/api/docs-json' ||
  path === '/api/docs-yaml' ||
  /^\/api\/docs(\/.*)?$/.test(path);

/** Every route the server serves, once each; HEAD is probed for every GET (Express answers it with the GET handler). */
function routesOf(app: NestExpressApplication): RouteRef[] {
  const seen = new Map<string, RouteRef>();
  for (const r of listRoutes(app)) {
    seen.set(routeKey(r), r);
    if (r.method === 'GET') seen.set(routeKey({ ...r, method: 'HEAD' }), { ...r, method: 'HEAD' });
  }
  return [...seen.values()];
}

/** True when `res` is the 401 of the auth contract (README, Authentication) in the dual error shape of the error contract (README, Errors) (HEAD: status only, it has no body). */
function isInvalidApiKey(method: string, res: ProbeResponse): boolean {
  if (res.status !== 401) return false;
  if (method === 'HEAD') return true;
  const body = res.json as Record<string, unknown> | undefined;
  const error = body?.error as Record<string, unknown> | undefined;
  return (
    !!body &&
    !!error &&
    JSON.stringify(Object.keys(body)) === JSON.stringify(['success', 'err_code', 'err_msg', 'data', 'error']) &&
    body.success === false &&
    body.err_code === 'invalid_api_key' &&
    typeof body.err_msg === 'string' &&
    body.err_msg.length > 0 &&
    body.data === null &&
    error.message === body.err_msg &&
    error.type === 'authentication_error' &&
    error.param === null &&
    error.code === 'invalid_api_key'
  );
}

/** The routes among `routes` that do NOT answer the 401 invalid_api_key with these headers (empty = all guarded). */
async function unguarded(origin: string, routes: RouteRef[], headers: Record<string, string> = {}): Promise<string[]> {
  const failures: string[] = [];
  for (const route of routes) {
    const res = await probe(origin, route.method, samplePath(route.path), headers);
    if (!isInvalidApiKey(route.method, res))
      failures.push(`${routeKey(route)} → ${res.status} ${res.text.slice(0, 200)}`);
  }
  return failures;
}

/** Authorization headers that must all be refused. */
const WRONG_KEYS: Array<[string, Record<string, string>]> = [
  ['an unknown key', { Authorization: 'Bearer not-a-key' }],
  ['a prefix of a valid key', { Authorization: `Bearer ${API_KEY.slice(0, -1)}` }],
  ['a valid key with a character more', { Authorization: `Bearer ${API_KEY}0` }],
  ['a valid key in another case', { Authorization: `Bearer ${SECOND_KEY.toLowerCase()}` }],
  ['two valid keys run together', { Authorization: `Bearer ${API_KEY},${SECOND_KEY}` }],
  ['the key without the Bearer scheme', { Authorization: API_KEY }],
  ['the key with another scheme', { Authorization: `Basic ${Buffer.from(`user:${API_KEY}`).toString('base64')}` }],
  ['an empty bearer token', { Authorization: 'Bearer ' }],
  ['the key in another header', { 'X-API-Key': API_KEY }],
];

describe('API-key guard (every route, real server)', () => {
  let server: TestServer;
  let routes: RouteRef[];
  let guarded: RouteRef[];

  beforeAll(async () => {
    // No rate limit: the sweeps send a few hundred requests on purpose.
    server = await startTestServer({
      API_KEYS: ` ${API_KEY}, ${SECOND_KEY} ,,${THIRD_KEY}`,
      RATE_LIMIT_PER_MINUTE: '0',
    });
    routes = routesOf(server.app);
    guarded = routes.filter((r) => !isPublicPath(r.path));
  });
  afterAll(() => server?.close());

  describe('the route inventory', () => {
    it('holds every route Nest declares, and the apps, health and docs routes', () => {
      const served = new Set(routes.map(routeKey));
      const declared = listNestRoutes(server.app);
      expect(declared.length).toBeGreaterThanOrEqual(9);
      expect(declared.map(routeKey).filter((k) => !served.has(k))).toEqual([]);
      for (const key of [
        `GET ${APPS}`,
        `POST ${APPS}`,
        `GET ${APPS}/:app_code`,
        `PUT ${APPS}/:app_code`,
        `DELETE ${APPS}/:app_code`,
        `POST ${APPS}/:app_code/collect`,
        `DELETE ${APPS}/:app_code/collect`,
        'GET /api/health',
        'GET /api/ready',
        'GET /api/docs',
        'GET /api/docs-json',
      ]) {
        expect(served).toContain(key);
      }
    });

    it('probes guarded routes for every method they serve', () => {
      const methods = new Set(guarded.map((r) => r.method));
      for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']) expect(methods).toContain(m);
      expect(guarded.length).toBeGreaterThanOrEqual(7 + 2); // the apps routes, plus HEAD of its two GETs
    });
  });

  describe('without a key or with a wrong one', () => {
    it('every non-public route answers 401 invalid_api_key (dual error shape) without a key', async () => {
      expect(await unguarded(server.origin, guarded)).toEqual([]);
    });

    it.each(WRONG_KEYS)('every non-public route answers 401 invalid_api_key with %s', async (_, headers) => {
      expect(await unguarded(server.origin, guarded, headers)).toEqual([]);
    });

    it('says whether the key is missing or wrong', async () => {
      const missing = await probe(server.origin, 'GET', APPS);
      expect((missing.json as { err_msg: string }).err_msg).toBe('Missing API key: send Authorization: Bearer <key>.');
      const wrong = await probe(server.origin, 'GET', APPS, { Authorization: 'Bearer nope' });
      expect((wrong.json as { err_msg: string }).err_msg).toBe('The API key is not valid.');
    });

    it('refuses before reading the request: nothing is created without a key', async () => {
      const res = await probe(server.origin, 'POST', APPS, {});
      expect(res.status).toBe(401);
      const list = await probe(server.origin, 'GET', APPS, AUTH);
      expect((list.json as { data: { total_count: number } }).data.total_count).toBe(0);
    });
  });

  describe('public routes', () => {
    it('only health, readiness and the docs answer without a key', async () => {
      const open = routes.filter((r) => isPublicPath(r.path));
      expect(open.map(routeKey)).toEqual(
        expect.arrayContaining(['GET /api/health', 'GET /api/ready', 'GET /api/docs', 'GET /api/docs-json']),
      );
      for (const path of ['/api/health', '/api/ready', '/api/docs', '/api/docs-json', '/api/docs-yaml']) {
        expect([path, (await probe(server.origin, 'GET', path)).status]).toEqual([path, 200]);
      }
      // The docs UI's own asset routes: open (no 401), and never an error.
      for (const route of open) {
        const { status } = await probe(server.origin, route.method, samplePath(route.path));
        expect([routeKey(route), status !== 401 && status < 500]).toEqual([routeKey(route), true]);
      }
      // Everything else was refused in the sweeps above; this is the complement.
      expect(routes.length).toBe(open.length + guarded.length);
    });

    it('health and readiness report status ok without a key', async () => {
      expect((await probe(server.origin, 'GET', '/api/health')).json).toMatchObject({ status: 'ok' });
      expect((await probe(server.origin, 'GET', '/api/ready')).json).toMatchObject({
        status: 'ok',
        info: { database: { status: 'up' }, migrations: { status: 'up' } },
      });
    });
  });

  describe('with a valid key', () => {
    it('passes the guard on every guarded route (whatever the route then answers, it is not 401)', async () => {
      const refused: string[] = [];
      for (const route of guarded) {
        const res = await probe(server.origin, route.method, samplePath(route.path), AUTH);
        if (res.status === 401) refused.push(`${routeKey(route)} → ${res.text}`);
      }
      expect(refused).toEqual([]);
    });

    it.each([
      ['Bearer', API_KEY],
      ['bearer', API_KEY],
      ['BEARER', API_KEY],
      ['BeArEr', API_KEY],
    ])('accepts the scheme written "%s"', async (scheme, key) => {
      const res = await probe(server.origin, 'GET', APPS, { Authorization: `${scheme} ${key}` });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ success: true });
    });

    it('accepts extra blanks around the token', async () => {
      expect((await probe(server.origin, 'GET', APPS, { Authorization: `Bearer   ${API_KEY}  ` })).status).toBe(200);
    });

    it.each([
      ['the first', API_KEY],
      ['the second', SECOND_KEY],
      ['the third (a short one)', THIRD_KEY],
    ])('accepts %s of several keys in API_KEYS', async (_, key) => {
      const res = await probe(server.origin, 'GET', APPS, { Authorization: `Bearer ${key}` });
      expect(res.status).toBe(200);
    });

    it('refuses a prefix of a valid key, even a long one', async () => {
      for (const token of [SECOND_KEY.slice(0, -1), SECOND_KEY.slice(0, 1), THIRD_KEY.slice(0, 1)]) {
        const res = await probe(server.origin, 'GET', APPS, { Authorization: `Bearer ${token}` });
        expect(isInvalidApiKey('GET', res)).toBe(true);
      }
    });
  });

  describe('scopes', () => {
    /** The routes a chat key may call; every other guarded route is an admin route (deny by default). */
    const CHAT_ROUTES = [
      'GET /api/v2/serve/apps',
      'HEAD /api/v2/serve/apps',
      'GET /api/v2/serve/apps/:app_code',
      'HEAD /api/v2/serve/apps/:app_code',
      'GET /api/v2/models',
      'HEAD /api/v2/models',
      'POST /api/v2/chat/completions',
      'POST /api/v2/chat/completions/:conv_uid/cancel',
      'GET /api/v2/chat/completions/:conv_uid',
      'HEAD /api/v2/chat/completions/:conv_uid',
      'GET /api/v2/chat/completions/:conv_uid/stream',
      'HEAD /api/v2/chat/completions/:conv_uid/stream',
      'GET /api/v2/conversations',
      'HEAD /api/v2/conversations',
      'GET /api/v2/conversations/:conv_uid',
      'HEAD /api/v2/conversations/:conv_uid',
      'DELETE /api/v2/conversations/:conv_uid',
    ];
    let chatKey: string;

    beforeAll(async () => {
      const res = await fetch(`${server.origin}/api/v2/serve/keys`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'scope sweep', scopes: ['chat'] }),
      });
      expect(res.status).toBe(201);
      chatKey = ((await res.json()) as { data: { key: string } }).data.key;
    });

    it('a chat key gets 403 insufficient_scope on every admin route, and passes on the chat routes', async () => {
      const scopes: Record<string, string> = {};
      for (const route of guarded) {
        const res = await probe(server.origin, route.method, samplePath(route.path), {
          Authorization: `Bearer ${chatKey}`,
        });
        expect([routeKey(route), res.status]).not.toEqual([routeKey(route), 401]);
        if (res.status === 403) {
          if (route.method !== 'HEAD') {
            expect(res.json).toMatchObject({
              success: false,
              err_code: 'insufficient_scope',
              err_msg: expect.stringContaining('"admin" scope'),
              error: { type: 'authentication_error', code: 'insufficient_scope' },
            });
          }
          scopes[routeKey(route)] = 'admin';
        } else {
          scopes[routeKey(route)] = 'chat';
        }
      }
      const chat = Object.keys(scopes).filter((k) => scopes[k] === 'chat');
      expect(chat.sort()).toEqual([...CHAT_ROUTES].sort());
      expect(Object.values(scopes).filter((s) => s === 'admin').length).toBe(guarded.length - CHAT_ROUTES.length);
    });
  });

  describe('a route added later', () => {
    /** A controller another module might add: the global guard must cover it. */
    @Controller('v2/extra')
    class ExtraController {
      @Get()
      list() {
        return { ok: true };
      }
    }

    /** The same, wrongly marked @Public(): the sweep must catch it. */
    @Controller('v2/sneaky')
    class SneakyController {
      @Public()
      @Get(':id')
      read() {
        return { leaked: true };
      }
    }

    let extra: NestExpressApplication;
    let origin: string;

    beforeAll(async () => {
      const config = loadConfig({
        API_KEYS: API_KEY,
        DATABASE_URL: server.db.url,
        LOG_LEVEL: 'silent',
        RATE_LIMIT_PER_MINUTE: '0',
      });
      @Module({
        imports: [AppModule.forRoot({ ...config, databaseUrl: server.db.url })],
        controllers: [ExtraController, SneakyController],
      })
      class ExtendedModule {}
      extra = await NestFactory.create<NestExpressApplication>(ExtendedModule, { logger: false });
      extra.setGlobalPrefix(API_PREFIX);
      await extra.listen(0, '127.0.0.1');
      origin = `http://127.0.0.1:${(extra.getHttpServer().address() as AddressInfo).port}`;
    });
    afterAll(() => extra?.close());

    it('is listed, both by the router and by the Nest metadata', () => {
      const served = routesOf(extra).map(routeKey);
      expect(served).toEqual(expect.arrayContaining(['GET /api/v2/extra', 'GET /api/v2/sneaky/:id', `GET ${APPS}`]));
      expect(listNestRoutes(extra).map(routeKey)).toEqual(
        expect.arrayContaining(['GET /api/v2/extra', 'GET /api/v2/sneaky/:id']),
      );
    });

    it('is guarded by default, and one that answers without a key is reported by the sweep', async () => {
      const all = routesOf(extra).filter((r) => !isPublicPath(r.path));
      const failures = await unguarded(origin, all);
      expect(failures).toEqual([
        expect.stringMatching(/^GET \/api\/v2\/sneaky\/:id → 200/),
        expect.stringMatching(/^HEAD \/api\/v2\/sneaky\/:id → 200/),
      ]);
    });
  });
});

describe('ENSEMBLE_INSECURE_NO_AUTH', () => {
  it('refuses to start with no key and no flag (loadConfig throws, naming both settings)', () => {
    for (const env of [{}, { API_KEYS: '' }, { API_KEYS: ' , ' }, { ENSEMBLE_INSECURE_NO_AUTH: 'false' }]) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(/API_KEYS is empty.*ENSEMBLE_INSECURE_NO_AUTH=true/);
    }
  });

  describe('true with no key', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ API_KEYS: '', ENSEMBLE_INSECURE_NO_AUTH: 'true', RATE_LIMIT_PER_MINUTE: '0' });
    });
    afterAll(() => server?.close());

    it('opens every route: none answers 401 without a key', async () => {
      const routes = routesOf(server.app);
      expect(routes.length).toBeGreaterThanOrEqual(9);
      const refused: string[] = [];
      for (const route of routes) {
        const res = await probe(server.origin, route.method, samplePath(route.path));
        if (res.status === 401) refused.push(routeKey(route));
      }
      expect(refused).toEqual([]);
    });

    it('serves the apps API without a key (and ignores a key that is sent)', async () => {
      const created = await probe(server.origin, 'GET', APPS);
      expect(created.status).toBe(200);
      expect((await probe(server.origin, 'GET', APPS, { Authorization: 'Bearer anything' })).status).toBe(200);
    });
  });

  describe('true with keys configured', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ ENSEMBLE_INSECURE_NO_AUTH: 'true' });
    });
    afterAll(() => server?.close());

    it('still enforces the keys', async () => {
      expect(isInvalidApiKey('GET', await probe(server.origin, 'GET', APPS))).toBe(true);
      expect((await probe(server.origin, 'GET', APPS, AUTH)).status).toBe(200);
    });
  });
});
