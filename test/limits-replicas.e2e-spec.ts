/**
 * Limits that hold across replicas: two servers on one database share each
 * key's rate limit (RATE_LIMIT_PER_MINUTE) and run cap
 * (MAX_CONCURRENT_RUNS_PER_KEY), a key's own `rate_limit_per_minute` /
 * `max_concurrent_runs` replace the defaults, and every answer of a limited
 * route carries `X-RateLimit-Limit/Remaining/Reset`, 429s and other errors
 * included.
 */
import request from 'supertest';
import { ChatEnv, contents, OpenStream, RawResponse, rawPost, startChatEnv, streamPost } from './support/chat-env';
import { expectDualError } from './support/expect-error';
import { API_KEY, startTestServer, TestServer } from './support/server';

const CHAT = '/api/v2/chat/completions';
const APPS = '/api/v2/serve/apps';
const KEYS = '/api/v2/serve/keys';
const LIMIT = 10;

/** One bootstrap key per test, so each starts with a whole budget (a window starts with a key's first request). */
const ENV_KEYS = {
  sequential: 'limits-seq-key-0123456789',
  concurrent: 'limits-conc-key-0123456789',
  errors: 'limits-err-key-0123456789',
  runs: 'limits-runs-key-0123456789',
};
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
type Headers = Record<string, string | string[] | undefined>;

/** The three headers of the limit, as numbers. */
const limitHeaders = (headers: Headers) => ({
  limit: Number(headers['x-ratelimit-limit']),
  remaining: Number(headers['x-ratelimit-remaining']),
  reset: Number(headers['x-ratelimit-reset']),
});

function expectLimitHeaders(headers: Headers, limit: number, remaining: number): void {
  const h = limitHeaders(headers);
  expect(h.limit).toBe(limit);
  expect(h.remaining).toBe(remaining);
  expect(Number.isInteger(h.reset)).toBe(true);
  expect(h.reset).toBeGreaterThanOrEqual(1);
  expect(h.reset).toBeLessThanOrEqual(60);
}

describe('limits over two replicas on one database', () => {
  let env: ChatEnv;
  let b: TestServer;
  let a: TestServer;
  /** A stored admin key without a rate limit, for the setup requests. */
  let admin: Record<string, string>;

  beforeAll(async () => {
    const keys = [API_KEY, ...Object.values(ENV_KEYS)].join(',');
    env = await startChatEnv({
      API_KEYS: keys,
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
      MAX_CONCURRENT_RUNS_PER_KEY: '1',
    });
    a = env.server;
    b = await startTestServer(env.env, { db: a.db });
    const res = await request(a.origin)
      .post(KEYS)
      .set(bearer(API_KEY))
      .send({ name: 'setup', scopes: ['admin'], rate_limit_per_minute: 0 })
      .expect(201);
    admin = bearer(res.body.data.key);
  });
  afterAll(async () => {
    await b?.close();
    await env?.close();
  });
  beforeEach(() => env.fake.reset());

  it('counts one budget over both replicas: the 11th and 12th requests are refused wherever they land', async () => {
    const key = bearer(ENV_KEYS.sequential);
    for (let i = 0; i < 12; i++) {
      const server = i % 2 === 0 ? a : b;
      const res = await request(server.origin).get(APPS).set(key);
      if (i < LIMIT) {
        expect(res.status).toBe(200);
        // The remaining budget is the key's over both replicas, not this replica's.
        expectLimitHeaders(res.headers, LIMIT, LIMIT - i - 1);
      } else {
        expectDualError(res, 429, 'rate_limit_exceeded', null);
        expectLimitHeaders(res.headers, LIMIT, 0);
        const retryAfter = Number(res.headers['retry-after']);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
      }
    }
  });

  it('refuses exactly the requests over the limit when they arrive at once on both replicas', async () => {
    const key = bearer(ENV_KEYS.concurrent);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        request((i % 2 === 0 ? a : b).origin)
          .get(APPS)
          .set(key),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    // Each admitted request had its own count: remaining 9 … 0, once each.
    const remaining = answers.filter((r) => r.status === 200).map((r) => limitHeaders(r.headers).remaining);
    expect(remaining.sort((x, y) => x - y)).toEqual(Array.from({ length: LIMIT }, (_, i) => i));
  });

  it('puts the headers on error answers of a limited route (404, 400) too', async () => {
    const key = bearer(ENV_KEYS.errors);
    const missing = await request(a.origin).get(`${APPS}/no-such-app`).set(key);
    expect(missing.status).toBe(404);
    expectLimitHeaders(missing.headers, LIMIT, LIMIT - 1);
    const invalid = await request(b.origin).get(`${APPS}?page=zero`).set(key);
    expect(invalid.status).toBe(400);
    expectLimitHeaders(invalid.headers, LIMIT, LIMIT - 2);
    const badChat = await rawPost(b.origin, CHAT, { model: 'fake-gpt', messages: 'x', chat_mode: 'nope' }, key);
    expect(badChat.status).toBe(400);
    expectLimitHeaders(badChat.headers, LIMIT, LIMIT - 3);
  });

  it('caps the runs of a key over both replicas; the slot is free again once the run ends', async () => {
    const key = bearer(ENV_KEYS.runs);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    env.fake.setHandler(() => ({ tokens: ['slow ', 'run'], beforeToken: () => gate }));
    const first = streamPost(a.origin, CHAT, { model: 'fake-gpt', messages: 'long', stream: true }, key);
    await first.firstContent;

    const refused = await rawPost(b.origin, CHAT, { model: 'fake-gpt', messages: 'second', stream: true }, key);
    expectDualError(refused, 429, 'too_many_runs', null);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body).err_msg).toContain('MAX_CONCURRENT_RUNS_PER_KEY');
    // The rate limit's headers are on the run cap's 429 too.
    expectLimitHeaders(refused.headers, LIMIT, LIMIT - 2);
    // Refused before any upstream call.
    expect(env.fake.chatRequests).toHaveLength(1);

    open();
    const done = await first.done;
    expect(done.status).toBe(200);
    expect(contents(done.body).join('')).toBe('slow run');
    env.fake.setHandler(() => 'admitted');
    const again = await rawPost(b.origin, CHAT, { model: 'fake-gpt', messages: 'again', stream: true }, key);
    expect(again.status).toBe(200);
    expect(contents(again.body).join('')).toBe('admitted');
    expectLimitHeaders(again.headers, LIMIT, LIMIT - 3);
  });

  it("admits exactly a key's own cap of runs among concurrent requests split over both replicas", async () => {
    const created = await request(a.origin)
      .post(KEYS)
      .set(admin)
      .send({ name: 'three runs', scopes: ['chat'], max_concurrent_runs: 3, rate_limit_per_minute: 0 })
      .expect(201);
    expect(created.body.data).toMatchObject({ max_concurrent_runs: 3, rate_limit_per_minute: 0 });
    const key = bearer(created.body.data.key);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    env.fake.setHandler(() => ({ tokens: ['held ', 'run'], beforeToken: () => gate }));

    const N = 10;
    const streams: OpenStream[] = Array.from({ length: N }, (_, i) =>
      streamPost((i % 2 === 0 ? a : b).origin, CHAT, { model: 'fake-gpt', messages: `r${i}`, stream: true }, key),
    );
    // Each request either streams (it holds a slot until the gate opens) or is answered at once.
    const outcomes = await Promise.all(
      streams.map((s) =>
        Promise.race([s.firstContent.then(() => 'running' as const), s.done.then((r: RawResponse) => r)]),
      ),
    );
    const running = outcomes.filter((o) => o === 'running');
    const refused = outcomes.filter((o): o is RawResponse => o !== 'running');
    expect(running).toHaveLength(3);
    expect(refused).toHaveLength(N - 3);
    for (const r of refused) {
      expectDualError(r, 429, 'too_many_runs', null);
      expect(JSON.parse(r.body).err_msg).toContain("this key's max_concurrent_runs");
      // An unlimited key (rate_limit_per_minute 0) gets no rate-limit headers.
      expect(r.headers['x-ratelimit-limit']).toBeUndefined();
    }
    expect(env.fake.chatRequests).toHaveLength(3);
    open();
    const finished = await Promise.all(streams.map((s) => s.done));
    expect(finished.filter((r) => r.status === 200)).toHaveLength(3);
  });

  it("limits a key by its own rate_limit_per_minute and another by the server's", async () => {
    const make = async (body: Record<string, unknown>) => {
      const res = await request(b.origin)
        .post(KEYS)
        .set(admin)
        .send({ scopes: ['chat'], ...body })
        .expect(201);
      return res.body.data as { id: string; key: string };
    };
    const own = await make({ name: 'three a minute', rate_limit_per_minute: 3 });
    const dflt = await make({ name: 'default limits' });
    const unlimited = await make({ name: 'unlimited', rate_limit_per_minute: 0 });

    for (let i = 0; i < 3; i++) {
      const res = await request((i % 2 ? a : b).origin)
        .get(APPS)
        .set(bearer(own.key));
      expect(res.status).toBe(200);
      expectLimitHeaders(res.headers, 3, 2 - i);
    }
    const over = await request(a.origin).get(APPS).set(bearer(own.key));
    expectDualError(over, 429, 'rate_limit_exceeded', null);
    expectLimitHeaders(over.headers, 3, 0);

    const other = await request(a.origin).get(APPS).set(bearer(dflt.key));
    expect(other.status).toBe(200);
    expectLimitHeaders(other.headers, LIMIT, LIMIT - 1);

    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await request((i % 2 ? a : b).origin)
        .get(APPS)
        .set(bearer(unlimited.key));
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }

    const listed = await request(a.origin).get(`${KEYS}?page_size=100`).set(admin).expect(200);
    const byId = new Map(
      (listed.body.data.items as { id: string; rate_limit_per_minute: unknown; max_concurrent_runs: unknown }[]).map(
        (k) => [k.id, k],
      ),
    );
    expect(byId.get(own.id)).toMatchObject({ rate_limit_per_minute: 3, max_concurrent_runs: null });
    expect(byId.get(dflt.id)).toMatchObject({ rate_limit_per_minute: null, max_concurrent_runs: null });
    expect(byId.get(unlimited.id)).toMatchObject({ rate_limit_per_minute: 0, max_concurrent_runs: null });
  });

  it('refuses invalid overrides with 400 naming the field, and stores nothing', async () => {
    const before = (await request(a.origin).get(KEYS).set(admin).expect(200)).body.data.total_count;
    const bad: [Record<string, unknown>, string][] = [
      [{ rate_limit_per_minute: -1 }, 'rate_limit_per_minute'],
      [{ rate_limit_per_minute: 1.5 }, 'rate_limit_per_minute'],
      [{ rate_limit_per_minute: '5' }, 'rate_limit_per_minute'],
      [{ rate_limit_per_minute: 10_000_000 }, 'rate_limit_per_minute'],
      [{ max_concurrent_runs: -2 }, 'max_concurrent_runs'],
      [{ max_concurrent_runs: 'many' }, 'max_concurrent_runs'],
      [{ max_concurrent_runs: true }, 'max_concurrent_runs'],
    ];
    for (const [body, param] of bad) {
      const res = await request(a.origin)
        .post(KEYS)
        .set(admin)
        .send({ name: 'bad', scopes: ['chat'], ...body });
      expectDualError(res, 400, 'validation_error', param);
    }
    const nulls = await request(a.origin)
      .post(KEYS)
      .set(admin)
      .send({ name: 'explicit defaults', scopes: ['chat'], rate_limit_per_minute: null, max_concurrent_runs: null })
      .expect(201);
    expect(nulls.body.data).toMatchObject({ rate_limit_per_minute: null, max_concurrent_runs: null });
    const after = (await request(a.origin).get(KEYS).set(admin).expect(200)).body.data.total_count;
    expect(after).toBe(before + 1);
  });
});
