/**
 * Database outages. Replica A reaches Postgres through a TCP proxy the test
 * drives (refuse, cut, stall) and its sessions are also killed with
 * pg_terminate_backend, as a restart does; replica B reaches Postgres
 * directly. During the outage A answers 503 `database_unavailable` with
 * Retry-After (never a 500, never a hang) and is not ready; afterwards its
 * pool, instance lock and LISTEN session are back without a restart, a
 * cancel sent to B reaches A's run, and every run is stored in a true state.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { dataLines, contents, OpenStream, rawPost, RawResponse, streamPost } from './support/chat-env';
import { createTestDatabase, TestDatabase } from './support/database';
import { expectDualError } from './support/expect-error';
import { FakeOpenAI, startFakeOpenAI } from './support/fake-openai';
import { PgProxy } from './support/pg-proxy';
import { AUTH, startTestServer, TestServer } from './support/server';

const CHAT = '/api/v2/chat/completions';
const APPS = '/api/v2/serve/apps';
const FAKE_KEY_ENV = 'ENSEMBLE_TEST_OUTAGE_UPSTREAM_KEY';
const PLAN = JSON.stringify([
  { serial_number: 1, agent: 'AI Assistant', content: 'Collect the facts', rely: '' },
  { serial_number: 2, agent: 'Summarizer', content: 'Summarize the facts', rely: '1' },
]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(50);
  }
}

describe('database outages', () => {
  let db: TestDatabase;
  let admin: Client;
  let proxy: PgProxy;
  let fake: FakeOpenAI;
  let dir: string;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    process.env[FAKE_KEY_ENV] = 'sk-outage-upstream';
    fake = await startFakeOpenAI({ apiKey: 'sk-outage-upstream' });
    // The reply's shape is chosen by the messages: a planner gets PLAN after a second;
    // "slow N D" streams N tokens D ms apart.
    fake.setHandler((body) => {
      const texts = (body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : ''));
      if (texts.some((t) => t.includes('serial_number'))) return { text: PLAN, firstTokenDelayMs: 1000 };
      const [, n, d] = /^slow (\d+) (\d+)$/.exec(texts[texts.length - 1] ?? '') ?? ['', '3', '0'];
      return { tokens: Array.from({ length: Number(n) }, (_, i) => `t${i} `), tokenDelayMs: Number(d) };
    });
    dir = mkdtempSync(join(tmpdir(), 'ensemble-outage-'));
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
    admin = new Client({ connectionString: db.url });
    await admin.connect();
    const target = new URL(db.url);
    proxy = await PgProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const env = { MODELS_FILE: modelsFile, DB_CONNECT_TIMEOUT_MS: '1000', DB_STATEMENT_TIMEOUT_MS: '2000' };
    a = await startTestServer({ ...env, DATABASE_URL: proxy.urlFor(db.url) }, { db });
    b = await startTestServer(env, { db });
  }, 60_000);

  // A test that fails mid-outage leaves the database reachable for the next one.
  afterEach(() => proxy?.restore());

  afterAll(async () => {
    proxy?.restore();
    await a?.close();
    await b?.close();
    await proxy?.close();
    await admin?.end();
    await db?.drop();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = (origin: string, path: string, headers: Record<string, string> = AUTH) =>
    fetch(`${origin}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  const chat = (origin: string, convUid: string, message: string): Promise<RawResponse> =>
    rawPost(origin, CHAT, { model: 'fake-gpt', messages: message, conv_uid: convUid, stream: true });
  /**
   * A chat whose stream is under way once `firstContent` resolves: its run is
   * recorded `running` before it takes its run slot (in the database), so the
   * stored state alone does not say the run got past that.
   */
  const streaming = (origin: string, convUid: string, message: string): OpenStream =>
    streamPost(origin, CHAT, { model: 'fake-gpt', messages: message, conv_uid: convUid, stream: true });
  const runState = async (convUid: string) => {
    const { rows } = await admin.query<{ state: string; error: string | null }>(
      'SELECT state, error FROM conversation_runs WHERE conv_uid = $1 ORDER BY turn DESC LIMIT 1',
      [convUid],
    );
    return rows[0];
  };
  /** A's own sessions on the server (only A goes through the proxy). */
  const sessionsOfA = async () => {
    const { rows } = await admin.query<{ application_name: string }>(
      'SELECT application_name FROM pg_stat_activity WHERE client_port = ANY($1::int[]) ORDER BY 1',
      [proxy.upstreamPorts()],
    );
    return rows.map((r) => r.application_name);
  };
  const expectUnavailable = async (res: Response) => {
    expectDualError({ status: res.status, body: await res.json() }, 503, 'database_unavailable', null);
    expect(res.headers.get('retry-after')).toBe('5');
  };

  it('a restart: 503 and not ready during it; afterwards every session is back and every run is true', async () => {
    expect((await get(a.origin, '/api/ready')).status).toBe(200);
    expect(await sessionsOfA()).toEqual(
      expect.arrayContaining(['ensemble-cancel-bus', 'ensemble-instance-lock', 'ensemble-run-frames']),
    );

    // Ends during the outage: its rows cannot land, so no [DONE], and it is marked failed afterwards.
    const ending = streaming(a.origin, 'outage-ends-inside', 'slow 10 100');
    // Ends after the outage: stored complete, [DONE] sent.
    const outliving = streaming(a.origin, 'outage-outlived', 'slow 40 250');
    await waitFor(async () => ((await runState('outage-outlived'))?.state === 'running' ? true : undefined));
    await waitFor(async () => ((await runState('outage-ends-inside'))?.state === 'running' ? true : undefined));
    await Promise.all([ending.firstContent, outliving.firstContent]);

    // The restart: no new connections, every session of A killed by the server, the sockets cut.
    proxy.refuse();
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [
      proxy.upstreamPorts(),
    ]);
    proxy.cut();

    const started = Date.now();
    await expectUnavailable(await get(a.origin, APPS));
    expect(Date.now() - started).toBeLessThan(3000);
    const chatDuring = await chat(a.origin, 'outage-during', 'slow 1 0');
    expectDualError(chatDuring, 503, 'database_unavailable', null);
    expect(chatDuring.headers['retry-after']).toBe('5');
    // Not ready, with the same answer as every other route during the outage.
    await expectUnavailable(await get(a.origin, '/api/ready', {}));
    expect((await get(a.origin, '/api/health')).status).toBe(200);
    // Cancels cannot be judged either: 503, not a silent no-op.
    await expectUnavailable(await fetch(`${a.origin}${CHAT}/nobody/cancel`, { method: 'POST', headers: AUTH }));

    const inside = await ending.done;
    // The whole answer, then a failure frame saying it could not be stored, and no [DONE].
    const insideContents = contents(inside.body);
    expect(insideContents.slice(0, -1).join('')).toBe(Array.from({ length: 10 }, (_, i) => `t${i} `).join(''));
    expect(insideContents.at(-1)).toContain('could not be stored');
    expect(JSON.parse(dataLines(inside.body).pop()!).error).toMatchObject({
      code: 'database_unavailable',
      type: 'server_error',
    });
    expect(inside.body).not.toContain('[DONE]');
    await sleep(Math.max(0, 6000 - (Date.now() - started)));
    proxy.restore();

    // Ready again without a restart, with the lock and the listener re-opened.
    await waitFor(async () => ((await get(a.origin, '/api/ready')).status === 200 ? true : undefined));
    await waitFor(async () => {
      const names = await sessionsOfA();
      return names.includes('ensemble-cancel-bus') &&
        names.includes('ensemble-instance-lock') &&
        names.includes('ensemble-run-frames')
        ? true
        : undefined;
    });
    expect((await get(a.origin, APPS)).status).toBe(200);

    const outlived = await outliving.done;
    expect(outlived.body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(await runState('outage-outlived')).toEqual({ state: 'complete', error: null });
    expect(
      await waitFor(async () => {
        const s = await runState('outage-ends-inside');
        return s?.state === 'running' ? undefined : s;
      }),
    ).toEqual({
      state: 'failed',
      error: 'The database was unavailable while this run was recorded; its rows may be incomplete.',
    });
    const { rows: convs } = await admin.query<{ conv_uid: string; state: string }>(
      `SELECT conv_uid, state FROM conversations WHERE conv_uid LIKE 'outage-%' ORDER BY conv_uid`,
    );
    expect(convs).toEqual([
      { conv_uid: 'outage-ends-inside', state: 'failed' },
      { conv_uid: 'outage-outlived', state: 'complete' },
    ]);

    // A cancel sent to B reaches A's run over A's new LISTEN session.
    const cancelled = chat(a.origin, 'outage-cancel', 'slow 100 100');
    await waitFor(async () => ((await runState('outage-cancel'))?.state === 'running' ? true : undefined));
    const res = await fetch(`${b.origin}${CHAT}/outage-cancel/cancel`, { method: 'POST', headers: AUTH });
    expect(((await res.json()) as { data: unknown }).data).toEqual({ conv_uid: 'outage-cancel', cancelled: true });
    const body = (await cancelled).body;
    expect(JSON.parse(dataLines(body).pop()!).error).toMatchObject({ type: 'server_error' });
    expect((await runState('outage-cancel'))?.state).toBe('cancelled');
  }, 60_000);

  /** The database goes away as a restart does: new connections refused, A's sessions killed and cut. */
  const restart = async () => {
    proxy.refuse();
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [
      proxy.upstreamPorts(),
    ]);
    proxy.cut();
  };

  it('an auto_plan run whose plan could not be stored is failed, never complete with 0 of its steps', async () => {
    const created = await fetch(`${a.origin}${APPS}`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        app_name: 'outage-planner',
        team_mode: 'auto_plan',
        details: [{ agent_name: 'AI Assistant' }, { agent_name: 'Summarizer' }],
      }),
    });
    const appCode = ((await created.json()) as { data: { app_code: string } }).data.app_code;
    const running = streamPost(a.origin, CHAT, {
      model: 'fake-gpt',
      messages: 'plan it',
      chat_mode: 'chat_app',
      chat_param: appCode,
      conv_uid: 'outage-plan',
      stream: true,
    });
    // A team stream's headers go out once its run is recorded, holds its slot and is under way.
    await running.responded;
    // The plan arrives a second after the start, while the database is away; the steps run on.
    await restart();
    const res = await running.done;
    expect(res.status).toBe(200);
    expect(res.body).not.toContain('[DONE]');
    await sleep(6000 - 300);
    proxy.restore();
    const stored = await waitFor(async () => {
      const s = await runState('outage-plan');
      return s?.state === 'running' ? undefined : s;
    });
    expect(stored.state).toBe('failed');
    const { rows } = await admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM conversation_plan_steps s JOIN conversation_runs r ON r.id = s.run_id
       WHERE r.conv_uid = 'outage-plan' AND s.state = 'complete'`,
    );
    expect(rows[0].n).toBe('0');
    await waitFor(async () => ((await get(a.origin, '/api/ready')).status === 200 ? true : undefined));
  }, 60_000);

  it("a replica starting right after an outage does not take a live replica's runs for dead", async () => {
    const live = streaming(a.origin, 'outage-judged', 'slow 30 150');
    await waitFor(async () => ((await runState('outage-judged'))?.state === 'running' ? true : undefined));
    await live.firstContent;
    proxy.refuse();
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [
      proxy.upstreamPorts(),
    ]);
    proxy.cut();
    await sleep(500);
    // A's lock is free now; B's twin boots and judges while A is still away, then A comes back.
    const booting = startTestServer({ MODELS_FILE: join(dir, 'models.json') }, { db });
    await sleep(300);
    proxy.restore();
    const c = await booting;
    try {
      expect((await runState('outage-judged'))?.state).toBe('running');
      expect((await live.done).body.endsWith('data: [DONE]\n\n')).toBe(true);
      expect((await runState('outage-judged'))?.state).toBe('complete');
    } finally {
      await c.close();
    }
  }, 60_000);

  it('a frozen database (open connections stall, new ones hang): 503 within the timeouts, not a hang', async () => {
    await waitFor(async () => ((await get(a.origin, '/api/ready')).status === 200 ? true : undefined));
    expect((await get(a.origin, APPS)).status).toBe(200);
    proxy.stall();
    try {
      const started = Date.now();
      const [list, ready] = await Promise.all([get(a.origin, APPS), get(a.origin, '/api/ready')]);
      await expectUnavailable(list);
      expect(ready.status).toBe(503);
      // The statement timeout (2 s) plus the client's margin (1 s), not the 20 s+ of before.
      expect(Date.now() - started).toBeLessThan(4500);
    } finally {
      proxy.restore();
    }
    await waitFor(async () => ((await get(a.origin, APPS)).status === 200 ? true : undefined));
  }, 60_000);
});
