import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { CompiledServerBuild, RunningProcess, sharedBuild, startCompiledServer } from './support/compiled-server';
import { createTestDatabase, TestDatabase } from './support/database';
import { FakeOpenAI, startFakeOpenAI } from './support/fake-openai';
import { API_KEY, AUTH } from './support/server';

/**
 * Graceful shutdown of the real process: SIGTERM stops accepting, lets open
 * streams finish within SHUTDOWN_GRACE_MS, cancels the rest (stored
 * `cancelled`, upstream calls aborted), closes the pool and exits 0.
 */
describe('graceful shutdown (SIGTERM to the compiled server)', () => {
  let build: CompiledServerBuild;
  let fake: FakeOpenAI;
  let dir: string;
  let modelsFile: string;
  const dbs: TestDatabase[] = [];

  beforeAll(async () => {
    build = await sharedBuild();
    fake = await startFakeOpenAI({ apiKey: 'sk-shutdown' });
    dir = mkdtempSync(join(tmpdir(), 'ensemble-shutdown-'));
    modelsFile = join(dir, 'models.json');
    writeFileSync(
      modelsFile,
      JSON.stringify({
        default: 'slow',
        models: [
          { name: 'slow', provider: 'openai', model: 'm', base_url: fake.url, api_key_env: 'SHUTDOWN_FAKE_KEY' },
        ],
      }),
    );
  }, 300_000);
  afterAll(async () => {
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
    for (const db of dbs) await db.drop();
  });

  async function start(graceMs: number): Promise<{ server: RunningProcess; db: TestDatabase }> {
    const db = await createTestDatabase();
    dbs.push(db);
    const server = await startCompiledServer(build.main, {
      API_KEYS: API_KEY,
      DATABASE_URL: db.url,
      MODELS_FILE: modelsFile,
      SHUTDOWN_GRACE_MS: String(graceMs),
      SHUTDOWN_FAKE_KEY: 'sk-shutdown',
      LOG_LEVEL: 'warn',
    });
    return { server, db };
  }

  /** Opens a stream, resolves once the first content chunk arrived; `body` resolves with everything. */
  function openStream(origin: string, convUid: string) {
    let firstChunk!: () => void;
    const first = new Promise<void>((r) => (firstChunk = r));
    const body = new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        `${origin}/api/v2/chat/completions`,
        { method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' } },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            data += c;
            if (data.includes('"content"')) firstChunk();
          });
          res.on('end', () => resolve(data));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'slow', messages: 'tell me a long story', stream: true, conv_uid: convUid }));
    });
    return { first, body };
  }

  const exitCode = (server: RunningProcess) =>
    new Promise<number | null>((resolve) => {
      if (server.child.exitCode !== null) resolve(server.child.exitCode);
      else server.child.once('exit', (code) => resolve(code));
    });

  async function runState(db: TestDatabase, convUid: string): Promise<string> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ state: string }>(
        'SELECT state FROM conversation_runs WHERE conv_uid = $1',
        [convUid],
      );
      return rows[0]?.state;
    } finally {
      await client.end();
    }
  }

  it('cancels streams still open after the grace period, stores them cancelled and exits 0', async () => {
    fake.reset();
    fake.setHandler(() => ({ tokens: Array.from({ length: 100 }, (_, i) => `w${i} `), tokenDelayMs: 100 }));
    const { server, db } = await start(300);
    const stream = openStream(server.origin, 'conv-sigterm-cancel');
    await stream.first;
    const exited = exitCode(server);
    server.child.kill('SIGTERM');
    const body = await stream.body;
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(body).toContain('"error"');
    expect(await exited).toBe(0);
    expect(await fake.chatRequests[0].outcome).toBe('closed-early');
    expect(await runState(db, 'conv-sigterm-cancel')).toBe('cancelled');
  }, 60_000);

  it('lets a stream finish within the grace period and refuses new connections meanwhile', async () => {
    fake.reset();
    fake.setHandler(() => ({ tokens: Array.from({ length: 30 }, (_, i) => `w${i} `), tokenDelayMs: 100 }));
    const { server, db } = await start(20_000);
    const stream = openStream(server.origin, 'conv-sigterm-finish');
    let streamEnded = false;
    void stream.body.finally(() => (streamEnded = true));
    await stream.first;
    const exited = exitCode(server);
    server.child.kill('SIGTERM');
    // Refused while the stream is still open (polled: the signal takes a moment to land).
    const until = Date.now() + 10_000;
    while (
      await fetch(`${server.origin}/api/health`).then(
        () => true,
        () => false,
      )
    ) {
      if (Date.now() > until) throw new Error('still accepting connections 10 s after SIGTERM');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(streamEnded).toBe(false);
    const body = await stream.body;
    expect(body).toContain('"finish_reason":"stop"');
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(await exited).toBe(0);
    expect(await runState(db, 'conv-sigterm-finish')).toBe('complete');
  }, 60_000);

  it('after a crash (SIGKILL mid-run), the next server marks the run failed', async () => {
    fake.reset();
    fake.setHandler(() => ({ tokens: Array.from({ length: 100 }, (_, i) => `w${i} `), tokenDelayMs: 100 }));
    const { server, db } = await start(10_000);
    const stream = openStream(server.origin, 'conv-crash');
    stream.body.catch(() => undefined); // the connection dies with the process
    await stream.first;
    const exited = exitCode(server);
    server.child.kill('SIGKILL');
    await exited;
    expect(await runState(db, 'conv-crash')).toBe('running');
    const next = await startCompiledServer(build.main, {
      API_KEYS: API_KEY,
      DATABASE_URL: db.url,
      MODELS_FILE: modelsFile,
      SHUTDOWN_FAKE_KEY: 'sk-shutdown',
      LOG_LEVEL: 'warn',
    });
    try {
      expect(await runState(db, 'conv-crash')).toBe('failed');
      const res = await fetch(`${next.origin}/api/v2/conversations/conv-crash`, { headers: AUTH });
      const conv = (await res.json()) as { data: { state: string; turns: { error: string }[] } };
      expect(conv.data.state).toBe('failed');
      expect(conv.data.turns[0].error).toContain('server stopped');
    } finally {
      await next.stop();
    }
  }, 60_000);
});
