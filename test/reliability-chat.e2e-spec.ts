import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { sharedBuild, CompiledServerBuild, RunningProcess, startCompiledServer } from './support/compiled-server';
import { rawPost } from './support/chat-env';
import { createTestDatabase, TestDatabase } from './support/database';
import { expectDualError } from './support/expect-error';
import { FakeOpenAI, startFakeOpenAI } from './support/fake-openai';
import { API_KEY, AUTH } from './support/server';

const CHAT = '/api/v2/chat/completions';
const FAKE_KEY = 'sk-reliability';

/**
 * The chat path under hostile input, contention and slow readers, on the
 * compiled server (its own process, so its heap is its own) over real
 * sockets and a real Postgres: no run slot, registration or upstream call
 * leaks on any path, and a client that stops reading cannot grow memory.
 */
describe('chat reliability (compiled server)', () => {
  let build: CompiledServerBuild;
  let fake: FakeOpenAI;
  let dir: string;
  let modelsFile: string;
  const dbs: TestDatabase[] = [];
  const servers: RunningProcess[] = [];

  beforeAll(async () => {
    build = await sharedBuild();
    fake = await startFakeOpenAI({ apiKey: FAKE_KEY });
    dir = mkdtempSync(join(tmpdir(), 'ensemble-reliability-'));
    modelsFile = join(dir, 'models.json');
    writeFileSync(
      modelsFile,
      JSON.stringify({
        default: 'fake-gpt',
        models: [
          { name: 'fake-gpt', provider: 'openai', model: 'm', base_url: fake.url, api_key_env: 'RELIABILITY_KEY' },
        ],
      }),
    );
  }, 180_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
    for (const db of dbs) await db.drop();
  }, 60_000);
  beforeEach(() => fake.reset());

  async function start(env: Record<string, string> = {}): Promise<{ server: RunningProcess; db: TestDatabase }> {
    const db = await createTestDatabase();
    dbs.push(db);
    const server = await startCompiledServer(build.main, {
      API_KEYS: API_KEY,
      DATABASE_URL: db.url,
      MODELS_FILE: modelsFile,
      RELIABILITY_KEY: FAKE_KEY,
      LOG_LEVEL: 'warn',
      ...env,
    });
    servers.push(server);
    return { server, db };
  }

  async function sql<T>(db: TestDatabase, text: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  const chat = (origin: string, body: Record<string, unknown>) =>
    rawPost(origin, CHAT, { model: 'fake-gpt', messages: 'hello', stream: true, ...body });

  const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i} `);

  it('refuses hostile conv_uids with 400 before any work; the key is not locked out and SIGTERM exits promptly', async () => {
    const { server, db } = await start({ MAX_CONCURRENT_RUNS_PER_KEY: '2', SHUTDOWN_GRACE_MS: '1000' });
    const hostile: unknown[] = ['会话-1', 'conv-😀', 'line\nbreak', '', ' ', 'a'.repeat(65), 'semi;colon', 42, true];
    for (const convUid of hostile) {
      const res = await chat(server.origin, { conv_uid: convUid });
      expectDualError(res, 400, 'invalid_conv_uid', 'conv_uid');
      expect(res.headers['x-conv-uid']).toBeUndefined();
    }
    // Nothing was started, stored or sent upstream.
    expect(fake.chatRequests).toHaveLength(0);
    expect(await sql(db, 'SELECT conv_uid FROM conversations')).toEqual([]);
    // The limit is 2: four requests in a row succeed (no slot was kept by the refused ones).
    fake.setHandler(() => ({ text: 'fine' }));
    for (const convUid of ['a', 'A-b_c.d:e', 'x'.repeat(64), '550e8400-e29b-41d4-a716-446655440000']) {
      const res = await chat(server.origin, { conv_uid: convUid });
      expect(res.status).toBe(200);
      expect(res.headers['x-conv-uid']).toBe(convUid);
      expect(res.body.endsWith('data: [DONE]\n\n')).toBe(true);
    }
    expect(fake.chatRequests).toHaveLength(4);
    const started = Date.now();
    await server.stop();
    expect(server.child.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 60_000);

  it('20 concurrent turns on one conv_uid: one 200, nineteen 409, no 429, one upstream call', async () => {
    const { server, db } = await start();
    // The run that gets in holds its second token until the nineteen others were answered (or 20 s passed, so a
    // second run that got in fails the assertions below instead of hanging): however slow the machine, none of
    // them can arrive after it ended.
    let refused = 0;
    let release!: () => void;
    const othersAnswered = new Promise<void>((resolve) => (release = resolve));
    const bound = setTimeout(release, 20_000);
    fake.setHandler(() => ({ tokens: words(20), beforeToken: (i) => (i === 1 ? othersAnswered : Promise.resolve()) }));
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        chat(server.origin, { conv_uid: 'conv-contended' }).then((r) => {
          if (r.status !== 200 && ++refused === 19) release();
          return r;
        }),
      ),
    );
    clearTimeout(bound);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array<number>(19).fill(409)]);
    for (const r of results.filter((x) => x.status === 409)) expectDualError(r, 409, 'conversation_busy', 'conv_uid');
    expect(fake.chatRequests).toHaveLength(1);
    expect(await sql(db, 'SELECT turn, state FROM conversation_runs')).toEqual([{ turn: 1, state: 'complete' }]);
  }, 60_000);

  it('makes no upstream call for a run that cannot be recorded', async () => {
    const { server, db } = await start();
    fake.setHandler(() => ({ text: 'should not be asked' }));
    await sql(db, 'ALTER TABLE conversation_runs ADD CONSTRAINT test_refuse_runs CHECK (false) NOT VALID');
    try {
      for (const body of [{}, { conv_uid: 'conv-unrecorded' }, { stream: false }]) {
        const res = await chat(server.origin, body);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(JSON.parse(res.body)).toMatchObject({ success: false, data: null });
      }
      expect(fake.chatRequests).toHaveLength(0);
    } finally {
      await sql(db, 'ALTER TABLE conversation_runs DROP CONSTRAINT test_refuse_runs');
    }
    // Text Postgres cannot store (a NUL character) fails the run's write: no call either.
    for (const body of [{ messages: 'nul \u0000 inside' }, { messages: 'nul \u0000 inside', conv_uid: 'conv-nul' }]) {
      const res = await chat(server.origin, body);
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    expect(fake.chatRequests).toHaveLength(0);
    // A busy conversation costs no call either.
    await sql(
      db,
      // Owned by the key this test calls with (the first of API_KEYS).
      `INSERT INTO conversations (conv_uid, chat_mode, title, state, turns, owner_key)
       VALUES ('conv-busy', 'chat_normal', 't', 'running', 1, 'env:1')`,
    );
    expectDualError(await chat(server.origin, { conv_uid: 'conv-busy' }), 409, 'conversation_busy', 'conv_uid');
    expect(fake.chatRequests).toHaveLength(0);
  }, 60_000);

  it('trims history to HISTORY_MAX_CHARS, dropping the middle turns', async () => {
    const { server } = await start({ HISTORY_MAX_CHARS: '5000' });
    const answer = 'x'.repeat(1994);
    fake.setHandler(() => ({ tokens: [answer] }));
    for (let turn = 1; turn <= 4; turn++) {
      const res = await chat(server.origin, { conv_uid: 'conv-history', messages: `turn ${turn}` });
      expect(res.status).toBe(200);
    }
    await chat(server.origin, { conv_uid: 'conv-history', messages: 'turn 5' });
    const sent = fake.chatRequests[4].body!.messages!;
    // Four earlier turns of 2000 characters each; 5000 keeps the first and the last.
    expect(sent.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['turn 1', 'turn 4', 'turn 5']);
    expect(sent.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([answer, answer]);
  }, 60_000);

  it('429s of the rate limit carry the X-RateLimit headers', async () => {
    const { server } = await start({ RATE_LIMIT_PER_MINUTE: '2' });
    const get = () => fetch(`${server.origin}/api/v2/serve/apps`, { headers: AUTH });
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(200);
    const res = await get();
    expect(res.status).toBe(429);
    expect(res.headers.get('x-ratelimit-limit')).toBe('2');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeLessThanOrEqual(60);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expectDualError({ status: res.status, body: await res.json() }, 429, 'rate_limit_exceeded', null);
  }, 60_000);

  describe('clients that stop reading', () => {
    const STALLED = 8;

    /** Opens a stream on a raw socket and never reads its body; resolves once the response began. */
    function stalledClient(origin: string, convUid: string, extra: Record<string, unknown> = {}): Promise<Socket> {
      const { hostname, port } = new URL(origin);
      const body = JSON.stringify({
        model: 'fake-gpt',
        messages: 'tell me a long story',
        stream: true,
        incremental: false,
        conv_uid: convUid,
        ...extra,
      });
      return new Promise((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(
            `POST ${CHAT} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${API_KEY}\r\n` +
              `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
        });
        socket.once('data', () => {
          // From here on nothing is read: the kernel buffers fill, then the server's.
          socket.pause();
          resolve(socket);
        });
        socket.on('error', () => undefined);
        socket.once('close', () => reject(new Error('closed before the response')));
      });
    }

    async function heapUsed(origin: string): Promise<number> {
      const text = await (await fetch(`${origin}/api/metrics`, { headers: AUTH })).text();
      const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '));
      return Number(line!.split(' ')[1]);
    }

    it('pauses the run, keeps the heap bounded, cancels after SSE_STALL_TIMEOUT_MS and frees the slots', async () => {
      const stallMs = 3000;
      const { server, db } = await start({
        SSE_STALL_TIMEOUT_MS: String(stallMs),
        MAX_CONCURRENT_RUNS_PER_KEY: String(STALLED),
        SSE_PING_INTERVAL_MS: '200',
      });
      // 4,000 words, a few per upstream write: incremental: false resends the whole view each time.
      fake.setHandler(() => ({ tokens: words(4000), tokenDelayMs: 1 }));
      const baseline = await heapUsed(server.origin);
      const sockets = await Promise.all(
        Array.from({ length: STALLED }, (_, i) => stalledClient(server.origin, `conv-stalled-${i}`)),
      );
      let peak = baseline;
      const until = Date.now() + stallMs + 20_000;
      let states: { state: string; error: string }[] = [];
      while (Date.now() < until) {
        peak = Math.max(peak, await heapUsed(server.origin));
        if (peak - baseline >= 50 * 1024 * 1024) break;
        states = await sql(db, `SELECT state, error FROM conversation_runs WHERE state <> 'running'`);
        if (states.length === STALLED) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(peak - baseline).toBeLessThan(50 * 1024 * 1024);
      expect(states).toHaveLength(STALLED);
      for (const s of states) {
        expect(s.state).toBe('cancelled');
        expect(s.error).toContain('SSE_STALL_TIMEOUT_MS');
      }
      // The upstream was paused, not read to its end, and its calls were closed.
      for (const r of fake.chatRequests) expect(await r.outcome).toBe('closed-early');
      for (const s of sockets) s.destroy();
      // Every slot is free again: the key's whole allowance works at once.
      fake.setHandler(() => ({ text: 'quick' }));
      const again = await Promise.all(
        Array.from({ length: STALLED }, (_, i) => chat(server.origin, { conv_uid: `conv-after-${i}` })),
      );
      expect(again.map((r) => r.status)).toEqual(Array<number>(STALLED).fill(200));
    }, 90_000);

    it('does the same for a team run (chat_app, vis views)', async () => {
      const { server, db } = await start({ SSE_STALL_TIMEOUT_MS: '2000', MAX_CONCURRENT_RUNS_PER_KEY: '3' });
      const created = await fetch(`${server.origin}/api/v2/serve/apps`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          app_name: 'stalled',
          team_mode: 'single_agent',
          details: [{ agent_name: 'Summarizer' }],
        }),
      });
      expect(created.status).toBe(201);
      const appCode = ((await created.json()) as { data: { app_code: string } }).data.app_code;
      fake.setHandler(() => ({ tokens: words(4000), tokenDelayMs: 1 }));
      const team = { chat_mode: 'chat_app', chat_param: appCode };
      const baseline = await heapUsed(server.origin);
      const sockets = await Promise.all([0, 1, 2].map((i) => stalledClient(server.origin, `conv-team-${i}`, team)));
      let peak = baseline;
      let states: { state: string; error: string }[] = [];
      for (const until = Date.now() + 25_000; Date.now() < until; ) {
        peak = Math.max(peak, await heapUsed(server.origin));
        states = await sql(db, `SELECT state, error FROM conversation_runs WHERE state <> 'running'`);
        if (states.length === 3 || peak - baseline >= 50 * 1024 * 1024) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(peak - baseline).toBeLessThan(50 * 1024 * 1024);
      expect(states).toEqual(
        Array(3).fill({ state: 'cancelled', error: expect.stringContaining('SSE_STALL_TIMEOUT_MS') }),
      );
      for (const r of fake.chatRequests) expect(await r.outcome).toBe('closed-early');
      for (const s of sockets) s.destroy();
      fake.setHandler(() => ({ text: 'quick' }));
      const again = await Promise.all(
        [0, 1, 2].map((i) => chat(server.origin, { ...team, conv_uid: `conv-team-after-${i}` })),
      );
      expect(again.map((r) => r.status)).toEqual([200, 200, 200]);
    }, 60_000);

    it('holds the slot of a non-stream answer the client does not read until SSE_STALL_TIMEOUT_MS frees it', async () => {
      const stallMs = 4000;
      const { server, db } = await start({ SSE_STALL_TIMEOUT_MS: String(stallMs), MAX_CONCURRENT_RUNS_PER_KEY: '1' });
      // 8 MB of answer: more than the kernel's socket buffers take for a client that reads nothing.
      const piece = 'x'.repeat(64 * 1024);
      fake.setHandler(() => ({ tokens: Array<string>(128).fill(piece) }));
      const { hostname, port } = new URL(server.origin);
      const body = JSON.stringify({
        model: 'fake-gpt',
        messages: 'a long answer',
        stream: false,
        conv_uid: 'conv-unread',
      });
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST ${CHAT} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${API_KEY}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      });
      // Nothing is ever read.
      socket.pause();
      socket.on('error', () => undefined);
      let answered = 0;
      for (const until = Date.now() + 20_000; !answered && Date.now() < until; ) {
        const rows = await sql<{ state: string }>(db, `SELECT state FROM conversation_runs WHERE state <> 'running'`);
        if (rows.length) answered = Date.now();
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(answered).toBeGreaterThan(0);
      // Well after the answer was written to the socket, the key's one slot is still taken by it.
      await new Promise((r) => setTimeout(r, 1000));
      fake.setHandler(() => ({ text: 'quick' }));
      const busy = await chat(server.origin, { conv_uid: 'conv-second', stream: false });
      expectDualError(busy, 429, 'too_many_runs', null);
      // The stall timeout gives the unread answer up: the slot is free again.
      let freed: Awaited<ReturnType<typeof chat>> | undefined;
      for (const until = Date.now() + stallMs + 10_000; Date.now() < until; ) {
        const res = await chat(server.origin, { conv_uid: 'conv-second', stream: false });
        if (res.status === 200) {
          freed = res;
          break;
        }
        expectDualError(res, 429, 'too_many_runs', null);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(freed).toBeDefined();
      expect(Date.now() - answered).toBeGreaterThanOrEqual(stallMs - 500);
      expect(JSON.parse(freed!.body)).toMatchObject({ choices: [{ message: { content: 'quick' } }] });
      // The answer was produced: its run stays complete, with the whole answer stored.
      expect(
        await sql(
          db,
          `SELECT conv_uid, state, length(answer) AS chars FROM conversation_runs WHERE conv_uid = 'conv-unread'`,
        ),
      ).toEqual([{ conv_uid: 'conv-unread', state: 'complete', chars: 128 * 64 * 1024 }]);
      socket.destroy();
    }, 60_000);

    it('SIGTERM is not held up by a client that stopped reading: the run is stored cancelled and the process exits', async () => {
      const { server, db } = await start({ SSE_STALL_TIMEOUT_MS: '600000', SHUTDOWN_GRACE_MS: '500' });
      fake.setHandler(() => ({ tokens: words(4000), tokenDelayMs: 1 }));
      const socket = await stalledClient(server.origin, 'conv-stalled-shutdown');
      // Its buffers fill and the run pauses meanwhile.
      await new Promise((r) => setTimeout(r, 3000));
      const started = Date.now();
      await server.stop();
      expect(server.child.exitCode).toBe(0);
      // The grace period, then at most 5 s for the cancelled run to record its end.
      expect(Date.now() - started).toBeLessThan(8000);
      expect(await sql(db, 'SELECT state, error FROM conversation_runs')).toEqual([
        { state: 'cancelled', error: 'The server stopped before this run ended.' },
      ]);
      socket.destroy();
    }, 90_000);
  });
});
