/**
 * The embedded default, end to end: the compiled server (what `npm start`
 * runs) started WITHOUT DATABASE_URL uses PGlite persisted in DATA_DIR; data
 * written in one run is there after a restart. The server runs as its own
 * process because PGlite loads its parts with dynamic import(), which Jest's
 * module sandbox cannot do.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  CompiledServerBuild,
  RunningProcess,
  runToExit,
  sharedBuild,
  startCompiledServer,
} from './support/compiled-server';
import { API_KEY, AUTH } from './support/server';

const BASE = '/api/v2/serve/apps';

describe('compiled server without DATABASE_URL (embedded PGlite)', () => {
  let build: CompiledServerBuild;
  let dataDir: string;
  /** The working directory of every server started here: the default DATA_DIR (.data) would land in it. */
  let workDir: string;
  let running: RunningProcess | undefined;
  const start = (env: Record<string, string>) => startCompiledServer(build.main, env, 60_000, workDir);
  const runOnce = (env: Record<string, string>) => runToExit(build.main, env, 30_000, workDir);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ensemble-embedded-'));
    workDir = mkdtempSync(join(tmpdir(), 'ensemble-embedded-cwd-'));
    build = await sharedBuild();
  }, 300_000);

  afterEach(async () => {
    await running?.stop();
    running = undefined;
  }, 30_000);

  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('refuses to start without an API key, naming the settings (exit 78)', async () => {
    const { code, output } = await runOnce({ DATA_DIR: dataDir });
    expect(code).toBe(78);
    expect(output).toContain('Invalid configuration:');
    expect(output).toMatch(/API_KEYS is empty: .*ENSEMBLE_INSECURE_NO_AUTH=true/);
  }, 30_000);

  it('refuses a bad setting before touching any database (exit 78)', async () => {
    const { code, output } = await runOnce({
      API_KEYS: API_KEY,
      DATA_DIR: dataDir,
      PORT: 'abc',
      DATABASE_URL: 'mysql://x',
    });
    expect(code).toBe(78);
    expect(output).toContain('PORT must be an integer number (got "abc")');
    expect(output).toContain('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }, 30_000);

  it('serves the apps API on PGlite in DATA_DIR, migrated at start', async () => {
    running = await start({ API_KEYS: API_KEY, DATA_DIR: dataDir });
    expect(running.output()).toContain(`using the embedded database in ${join(dataDir, 'pglite')}`);
    expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);

    const http = request(running.origin);
    const ready = await http.get('/api/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up' }, migrations: { status: 'up' } },
    });

    const created = await http
      .post(BASE)
      .set(AUTH)
      .send({
        app_code: 'embedded-1',
        app_name: 'embedded helper',
        team_mode: 'single_agent',
        icon: 'https://example.test/i.png',
        details: [
          { agent_name: 'Summarizer', llm_strategy: 'priority', llm_strategy_value: ['chatgpt_proxyllm', 'gpt-4o'] },
        ],
      });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      app_code: 'embedded-1',
      app_name: 'embedded helper',
      icon: 'https://example.test/i.png',
      details: [{ agent_name: 'Summarizer', llm_strategy_value: 'chatgpt_proxyllm,gpt-4o' }],
    });

    const read = await http.get(`${BASE}/embedded-1`).set(AUTH);
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual(created.body.data);

    // Unique names and transactions hold on PGlite as on Postgres.
    const duplicate = await http.post(BASE).set(AUTH).send({ app_name: 'embedded helper', team_mode: 'single_agent' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.err_code).toBe('app_name_conflict');

    const collected = await http.post(`${BASE}/embedded-1/collect?user_code=alice`).set(AUTH);
    expect(collected.body.data).toBe(true);
  }, 90_000);

  it('keeps the data across a restart (after SIGTERM) on the same DATA_DIR', async () => {
    running = await start({ API_KEYS: API_KEY, DATA_DIR: dataDir });
    const http = request(running.origin);
    const read = await http.get(`${BASE}/embedded-1?user_code=alice`).set(AUTH);
    expect(read.status).toBe(200);
    expect(read.body.data).toMatchObject({
      app_name: 'embedded helper',
      is_collected: 'true',
      details: [{ agent_name: 'Summarizer' }],
    });

    const list = await http.get(`${BASE}?page=1&page_size=10`).set(AUTH);
    expect(list.body.data).toMatchObject({ total_count: 1, total_page: 1, current_page: 1 });

    // Still guarded, and the migrations were not applied twice.
    expect((await http.get(BASE)).status).toBe(401);
    expect(running.output()).not.toContain('Applied migrations');
  }, 90_000);

  it('with DATA_DIR set, wrote nothing in its working directory (no default .data folder)', () => {
    expect(readdirSync(workDir)).toEqual([]);
  });
});
