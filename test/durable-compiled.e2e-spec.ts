/**
 * A replica that dies (SIGKILL) in the middle of a background run: the
 * other replica, once the dead one's instance lock is gone, marks the run
 * failed and ends its stream, so a follower there gets the failure frame
 * and `[DONE]`. Two compiled server processes on one Postgres.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawPost } from './support/chat-env';
import { sharedBuild, CompiledServerBuild, RunningProcess, startCompiledServer } from './support/compiled-server';
import { createTestDatabase, TestDatabase } from './support/database';
import { FakeOpenAI, startFakeOpenAI, type ChatRequestBody } from './support/fake-openai';
import { API_KEY, AUTH } from './support/server';
import { sseFrames, sseRequest, withoutPings } from './support/sse-client';

const CHAT = '/api/v2/chat/completions';
const FAKE_KEY = 'sk-durable';
const PLAN = JSON.stringify([
  { serial_number: 1, agent: 'AI Assistant', content: 'Collect the facts', rely: '' },
  { serial_number: 2, agent: 'Summarizer', content: 'Summarize the facts', rely: '1' },
]);

describe('durable runs when a replica dies (compiled servers)', () => {
  let build: CompiledServerBuild;
  let fake: FakeOpenAI;
  let dir: string;
  let db: TestDatabase;
  const servers: RunningProcess[] = [];

  beforeAll(async () => {
    build = await sharedBuild();
    fake = await startFakeOpenAI({ apiKey: FAKE_KEY });
    dir = mkdtempSync(join(tmpdir(), 'ensemble-durable-'));
    writeFileSync(
      join(dir, 'models.json'),
      JSON.stringify({
        default: 'fake-gpt',
        models: [{ name: 'fake-gpt', provider: 'openai', model: 'm', base_url: fake.url, api_key_env: 'DURABLE_KEY' }],
      }),
    );
    db = await createTestDatabase();
  }, 240_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  }, 60_000);

  const start = async (env: Record<string, string> = {}) => {
    const server = await startCompiledServer(build.main, {
      API_KEYS: API_KEY,
      DATABASE_URL: db.url,
      MODELS_FILE: join(dir, 'models.json'),
      DURABLE_KEY: FAKE_KEY,
      LOG_LEVEL: 'warn',
      SSE_PING_INTERVAL_MS: '200',
      RUN_SWEEP_INTERVAL_MS: '200',
      ...env,
    });
    servers.push(server);
    return server;
  };

  it('kill -9 of the replica running it: a follower on the other replica gets the failure frame and [DONE]; the run is failed', async () => {
    const a = await start();
    const b = await start();
    const app = await rawPost(a.origin, '/api/v2/serve/apps', {
      app_name: 'durable',
      team_mode: 'auto_plan',
      details: [{ agent_name: 'AI Assistant' }, { agent_name: 'Summarizer' }],
    });
    expect(app.status).toBe(201);
    const isPlanner = (body: ChatRequestBody) => JSON.stringify(body.messages).includes('serial_number');
    fake.setHandler((body) =>
      isPlanner(body) ? { text: PLAN } : { tokens: Array.from({ length: 400 }, (_, i) => `w${i} `), tokenDelayMs: 25 },
    );
    const started = await rawPost(a.origin, CHAT, {
      model: 'fake-gpt',
      messages: 'Tell me everything',
      chat_mode: 'chat_app',
      chat_param: JSON.parse(app.body).data.app_code,
      conv_uid: 'dur-killed',
      incremental: false,
      stream: false,
      background: true,
    });
    expect(started.status).toBe(202);
    const follower = sseRequest(b.origin, 'GET', `${CHAT}/dur-killed/stream`);
    await follower.until((s) => s.includes('w5 '));
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    const got = withoutPings(await follower.done);
    const frames = sseFrames(got);
    // Numbered without a gap, ending with a failure frame and [DONE].
    expect(frames.map((f) => Number(/^id: (\d+)\n/.exec(f)?.[1]))).toEqual(frames.map((_, i) => i + 1));
    expect(frames[frames.length - 1]).toBe(`id: ${frames.length}\ndata: [DONE]\n\n`);
    const failure = JSON.parse(frames[frames.length - 2].split('\ndata: ')[1]) as {
      choices: { delta: { content: string }; finish_reason: string }[];
      error: { message: string; type: string };
    };
    expect(failure.error).toMatchObject({ type: 'server_error', message: expect.stringContaining('server stopped') });
    expect(failure.choices[0].finish_reason).toBe('stop');
    // incremental: false: the failure shows the whole view the run had reached, then the reason.
    const before = JSON.parse(frames[frames.length - 3].split('\ndata: ')[1]) as typeof failure;
    expect(failure.choices[0].delta.content.startsWith(before.choices[0].delta.content)).toBe(true);
    expect(failure.choices[0].delta.content).toContain('The answer could not be completed');
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    const status = await fetch(`${b.origin}${CHAT}/dur-killed`, { headers: AUTH });
    expect(((await status.json()) as { data: unknown }).data).toMatchObject({
      state: 'failed',
      error: expect.stringContaining('server stopped'),
    });
    // A resume from the start on the surviving replica gets the same bytes.
    expect(withoutPings(await sseRequest(b.origin, 'GET', `${CHAT}/dur-killed/stream`).done)).toBe(got);
  }, 120_000);
});
