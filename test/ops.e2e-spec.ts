/**
 * Operations: metrics, request ids, rate limiting, OpenAPI
 * completeness. Real Postgres, real sockets.
 */
import request from 'supertest';
import { ERROR_SCHEMA } from '../apps/server/src/common/api-docs';
import { MetricsService } from '../apps/server/src/observability/metrics.service';
import { API_KEY, AUTH, listRoutes, startTestServer, TestServer } from './support/server';
import { freePort } from './support/compiled-server';
import { expectDualError } from './support/expect-error';

const APPS = '/api/v2/serve/apps';
const OTHER_KEY = 'second-key-9876543210';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The value of one sample line, e.g. `http_requests_total{method="GET",...}`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('metrics (GET /api/metrics)', () => {
  let server: TestServer;
  let open: TestServer;
  let metricsPort: number;
  beforeAll(async () => {
    metricsPort = await freePort();
    [server, open] = await Promise.all([
      startTestServer({ RATE_LIMIT_PER_MINUTE: '0' }),
      startTestServer({ METRICS_PORT: String(metricsPort), HOST: '127.0.0.1' }),
    ]);
  });
  afterAll(() => Promise.all([server?.close(), open?.close()]));

  it('is guarded by the API key by default (401, dual shape)', async () => {
    const res = await request(server.origin).get('/api/metrics');
    expectDualError(res, 401, 'invalid_api_key', null);
  });

  it('is served without a key only on METRICS_PORT, a separate listener', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('# TYPE http_requests_total counter');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/api/v2/serve/apps`)).status).toBe(404);
    expectDualError(await request(open.origin).get('/api/metrics'), 401, 'invalid_api_key', null);
  });

  it('serves Prometheus text with HTTP requests by route pattern and status, and duration histograms', async () => {
    const http = request(server.origin);
    await http.get(APPS).set(AUTH).expect(200);
    await http.get(APPS).set(AUTH).expect(200);
    await http.get(`${APPS}/no-such-app`).set(AUTH).expect(404);
    await http.get('/api/no-such-route').set(AUTH).expect(404);
    await http.get(APPS); // 401
    const res = await http.get('/api/metrics').set(AUTH);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain;/);
    expect(res.headers['content-type']).toContain('version=0.0.4');
    const text = res.text;
    expect(sample(text, 'http_requests_total', { method: 'GET', route: APPS, status: '200' })).toBe(2);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: APPS, status: '401' })).toBe(1);
    // The route pattern, not the raw URL; unrouted requests share one label value.
    expect(sample(text, 'http_requests_total', { method: 'GET', route: `${APPS}/:app_code`, status: '404' })).toBe(1);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(text).not.toContain('no-such-app');
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'GET', route: APPS, status: '200' })).toBe(2);
    expect(
      sample(text, 'http_request_duration_seconds_bucket', { method: 'GET', route: APPS, status: '200', le: '+Inf' }),
    ).toBe(2);
    // Every metric of the chat pipeline is declared from the start, and the process defaults are there.
    for (const name of [
      'http_request_duration_seconds',
      'ensemble_open_streams',
      'ensemble_chat_runs_total',
      'ensemble_llm_call_duration_seconds',
      'ensemble_llm_time_to_first_token_seconds',
      'ensemble_llm_tokens_total',
      'ensemble_request_overhead_seconds',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# HELP ${name} `);
    }
    expect(sample(text, 'ensemble_open_streams')).toBe(0);
  });

  it("keeps each server's registry apart (two servers in one process)", async () => {
    const text = async (of: TestServer) => (await request(of.origin).get('/api/metrics').set(AUTH)).text;
    const notFound = (t: string) =>
      sample(t, 'http_requests_total', { method: 'GET', route: `${APPS}/:app_code`, status: '404' }) ?? 0;
    const [mineBefore, theirsBefore] = [notFound(await text(server)), notFound(await text(open))];
    await request(open.origin).get(`${APPS}/only-on-open`).set(AUTH).expect(404);
    const theirs = await text(open);
    expect({ mine: notFound(await text(server)) - mineBefore, theirs: notFound(theirs) - theirsBefore }).toEqual({
      mine: 0,
      theirs: 1,
    });
    expect(sample(theirs, 'http_requests_total', { method: 'GET', route: APPS, status: '200' })).toBeUndefined();
  });

  it('renders what the chat module reports through MetricsService', async () => {
    const metrics = server.app.get(MetricsService);
    const closeStream = metrics.trackStream();
    metrics.trackStream();
    closeStream();
    closeStream(); // idempotent
    metrics.runFinished('chat_app', 'complete');
    metrics.runFinished('chat_app', 'cancelled');
    metrics.llmCall('chatgpt_proxyllm', 'ok', 1.5, 0.2, { inputTokens: 12, outputTokens: 30 });
    metrics.llmCall('chatgpt_proxyllm', 'error', 0.1);
    const run = metrics.startRun('chat_normal');
    const call = run.llmCall('offline');
    call.firstToken();
    call.end('ok', { inputTokens: 1, outputTokens: 2 });
    run.finish('complete');
    run.finish('failed'); // ignored

    const text = (await request(server.origin).get('/api/metrics').set(AUTH)).text;
    expect(sample(text, 'ensemble_open_streams')).toBe(1);
    expect(sample(text, 'ensemble_chat_runs_total', { mode: 'chat_app', outcome: 'complete' })).toBe(1);
    expect(sample(text, 'ensemble_chat_runs_total', { mode: 'chat_app', outcome: 'cancelled' })).toBe(1);
    expect(sample(text, 'ensemble_chat_runs_total', { mode: 'chat_normal', outcome: 'complete' })).toBe(1);
    expect(sample(text, 'ensemble_chat_runs_total', { mode: 'chat_normal', outcome: 'failed' })).toBeUndefined();
    expect(sample(text, 'ensemble_llm_call_duration_seconds_count', { model: 'chatgpt_proxyllm', outcome: 'ok' })).toBe(
      1,
    );
    expect(sample(text, 'ensemble_llm_call_duration_seconds_sum', { model: 'chatgpt_proxyllm', outcome: 'ok' })).toBe(
      1.5,
    );
    expect(
      sample(text, 'ensemble_llm_call_duration_seconds_count', { model: 'chatgpt_proxyllm', outcome: 'error' }),
    ).toBe(1);
    expect(sample(text, 'ensemble_llm_time_to_first_token_seconds_count', { model: 'chatgpt_proxyllm' })).toBe(1);
    expect(sample(text, 'ensemble_llm_tokens_total', { model: 'chatgpt_proxyllm', kind: 'input' })).toBe(12);
    expect(sample(text, 'ensemble_llm_tokens_total', { model: 'chatgpt_proxyllm', kind: 'output' })).toBe(30);
    expect(sample(text, 'ensemble_llm_tokens_total', { model: 'offline', kind: 'output' })).toBe(2);
    expect(sample(text, 'ensemble_llm_time_to_first_token_seconds_count', { model: 'offline' })).toBe(1);
    expect(sample(text, 'ensemble_request_overhead_seconds_count', { mode: 'chat_normal' })).toBe(1);
  });
});

describe('request ids (X-Request-Id)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BODY_LIMIT: '1kb' });
  });
  afterAll(() => server?.close());

  it('echoes a sane client id', async () => {
    const res = await request(server.origin).get(APPS).set(AUTH).set('X-Request-Id', 'gw-7f3a.01:trace/x+y=');
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('gw-7f3a.01:trace/x+y=');
  });

  it('generates a UUID when none is given, a new one per request', async () => {
    const a = await request(server.origin).get(APPS).set(AUTH);
    const b = await request(server.origin).get(APPS).set(AUTH);
    expect(a.headers['x-request-id']).toMatch(UUID);
    expect(b.headers['x-request-id']).toMatch(UUID);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  it('replaces an id that is too long or has unsafe characters', async () => {
    for (const bad of ['x'.repeat(129), 'has space', 'quote"d', 'semi;colon']) {
      const res = await request(server.origin).get(APPS).set(AUTH).set('X-Request-Id', bad);
      expect(res.headers['x-request-id']).toMatch(UUID);
    }
  });

  it('is set on errors too: 401, 404 and a body rejected before routing (413)', async () => {
    const unauth = await request(server.origin).get(APPS).set('X-Request-Id', 'e-401');
    expect(unauth.status).toBe(401);
    expect(unauth.headers['x-request-id']).toBe('e-401');
    const missing = await request(server.origin).get('/api/nowhere').set(AUTH).set('X-Request-Id', 'e-404');
    expect(missing.status).toBe(404);
    expect(missing.headers['x-request-id']).toBe('e-404');
    const big = await request(server.origin)
      .post(APPS)
      .set(AUTH)
      .set('X-Request-Id', 'e-413')
      .send({ app_name: 'x'.repeat(4096) });
    expectDualError(big, 413, 'payload_too_large', null);
    expect(big.headers['x-request-id']).toBe('e-413');
  });
});

describe('rate limiting (RATE_LIMIT_PER_MINUTE)', () => {
  /** One key per test, so each test starts with a whole budget whatever ran before it. */
  const KEYS = {
    routes: 'rate-key-routes-0123456789',
    own: 'rate-key-own-0123456789',
    first: 'rate-key-first-0123456789',
  };
  const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      RATE_LIMIT_PER_MINUTE: '3',
      API_KEYS: [API_KEY, OTHER_KEY, ...Object.values(KEYS)].join(','),
    });
  });
  afterAll(() => server?.close());

  /** Spends the whole budget of `key` (3 requests). */
  const spend = async (key: string) => {
    for (let i = 0; i < 3; i++) await request(server.origin).get(APPS).set(auth(key)).expect(200);
    await request(server.origin).get(APPS).set(auth(key)).expect(429);
  };

  it('answers 429 rate_limit_exceeded with Retry-After after N requests of one key, over all routes', async () => {
    const http = request(server.origin);
    const first = await http.get(APPS).set(auth(KEYS.routes));
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit']).toBe('3');
    expect(first.headers['x-ratelimit-remaining']).toBe('2');
    await http.get(`${APPS}/nope`).set(auth(KEYS.routes)).expect(404); // another route, same budget
    await http.get(APPS).set(auth(KEYS.routes)).expect(200);
    const limited = await http.get(APPS).set(auth(KEYS.routes));
    expectDualError(limited, 429, 'rate_limit_exceeded', null);
    expect(limited.body.error.type).toBe('invalid_request_error');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers['x-request-id']).toMatch(UUID);
  });

  it('counts per API key: another key keeps its own budget', async () => {
    await spend(KEYS.own);
    const res = await request(server.origin).get(APPS).set(auth(OTHER_KEY));
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-remaining']).toBe('2');
    await request(server.origin).get(APPS).set(auth(KEYS.own)).expect(429);
  });

  it('checks the key first (401, not 429) and never limits health, readiness, metrics or docs', async () => {
    const http = request(server.origin);
    await spend(KEYS.first);
    await http.get(APPS).expect(401);
    await http.get(APPS).set({ Authorization: 'Bearer wrong-key' }).expect(401);
    for (let i = 0; i < 5; i++) {
      await http.get('/api/health').expect(200);
      await http.get('/api/ready').expect(200);
      await http.get('/api/metrics').set(auth(KEYS.first)).expect(200);
      await http.get('/api/docs-json').expect(200);
    }
    await http.get(APPS).set(auth(KEYS.first)).expect(429);
  });

  it('RATE_LIMIT_PER_MINUTE=0 disables the limit', async () => {
    const unlimited = await startTestServer({ RATE_LIMIT_PER_MINUTE: '0' });
    try {
      for (let i = 0; i < 8; i++) {
        const res = await request(unlimited.origin).get(APPS).set(AUTH);
        expect(res.status).toBe(200);
        expect(res.headers['x-ratelimit-limit']).toBeUndefined();
      }
    } finally {
      await unlimited.close();
    }
  });
});

describe('OpenAPI document (/api/docs-json)', () => {
  let server: TestServer;
  let doc: {
    paths: Record<string, Record<string, { summary?: string; tags?: string[] }>>;
    components: { schemas: Record<string, unknown> };
  };
  beforeAll(async () => {
    server = await startTestServer();
    doc = (await request(server.origin).get('/api/docs-json')).body;
  });
  afterAll(() => server?.close());

  it('documents every registered route with its method (docs routes aside)', () => {
    const routes = listRoutes(server.app).filter((r) => !r.path.startsWith('/api/docs'));
    expect(routes.length).toBeGreaterThan(5);
    const missing = routes
      .map((r) => ({ method: r.method.toLowerCase(), path: r.path.replace(/:(\w+)/g, '{$1}') }))
      .filter((r) => !doc.paths[r.path]?.[r.method])
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
    for (const path of ['/api/health', '/api/ready', '/api/metrics', APPS]) {
      expect(routes.map((r) => r.path)).toContain(path);
    }
  });

  it('gives health, readiness and metrics a tag and a summary', () => {
    for (const path of ['/api/health', '/api/ready', '/api/metrics']) {
      const op = doc.paths[path].get;
      expect(op.tags?.length).toBeGreaterThan(0);
      expect(op.summary).toEqual(expect.any(String));
    }
    expect(doc.paths['/api/metrics'].get.tags).toEqual(['metrics']);
  });

  it('carries the dual error schema in components', () => {
    expect(doc.components.schemas.Error).toEqual(ERROR_SCHEMA);
  });
});
