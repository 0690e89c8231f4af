import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import request from 'supertest';
import { parseVis } from '@ensemble/agents';
import { ChatEnv, dataLines, rawPost, startChatEnv } from './support/chat-env';
import { exportedApp } from './support/dbgpt-export';
import type { ChatRequestBody, FakeReply } from './support/fake-openai';
import { API_KEY, AUTH, startTestServer, TestServer } from './support/server';

const execFileAsync = promisify(execFile);

/** Whether this machine's python3 has pydantic (.ci/run makes sure it has). */
const havePydantic = spawnSync('python3', ['-c', 'import pydantic']).status === 0;
/** In CI (CI=true) the check must run: a missing python3 or pydantic fails the suite there. */
const inCi = /^(1|true)$/i.test(process.env.CI ?? '');
if (!havePydantic && !inCi) {
  console.warn(
    'SKIPPED: the DB-GPT client type check did not run: python3 with pydantic was not found on this machine ' +
      '(pip install pydantic; .ci/run installs it, and in CI the check fails instead of skipping).',
  );
}

/** App bodies must validate against the types DB-GPT's Python client declares (the apps wire contract (README, Apps admin API)). */
(havePydantic || inCi ? describe : describe.skip)('app bodies as DB-GPT’s Python client reads them', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('has python3 with pydantic to check against', () => {
    expect({ python3WithPydantic: havePydantic }).toEqual({ python3WithPydantic: true });
  });

  /** A datasource on the test's own database, for the `database` resource below. */
  async function registerDatasource(http: ReturnType<typeof request>) {
    const url = new URL(server.db.url);
    const res = await http
      .post('/api/v2/serve/datasources')
      .set(AUTH)
      .send({
        db_type: 'postgresql',
        db_name: server.db.name,
        db_host: url.hostname,
        db_port: Number(url.port || 5432),
        db_user: decodeURIComponent(url.username),
      });
    expect(res.status).toBe(200);
    return res.body.data as Record<string, unknown>;
  }

  it('every team mode, team_context form, resource and strategy validates', async () => {
    const http = request(server.origin);
    const datasource = await registerDatasource(http);
    const bodies = [
      { app_name: 'plain', team_mode: 'single_agent', details: [{ agent_name: 'Summarizer' }] },
      {
        app_name: 'full',
        team_mode: 'auto_plan',
        app_describe: 'd',
        icon: 'i.png',
        user_code: 'u',
        sys_code: 's',
        published: 'true',
        team_context: 'a string context',
        recommend_questions: [{ question: 'q?' }],
        details: [
          {
            agent_name: 'AI Assistant',
            resources: [
              {
                type: 'database',
                name: 'db',
                value: JSON.stringify({ db_name: datasource.db_name }),
                is_dynamic: true,
              },
            ],
            prompt_template: 'p',
            llm_strategy: 'priority',
            llm_strategy_value: ['a', 'b'],
          },
          { agent_name: 'CodeEngineer', llm_strategy: 'priority', llm_strategy_value: '["c","d"]' },
        ],
      },
      { app_name: 'awel', team_mode: 'awel_layout', team_context: { dag_id: 'flow_dag_1', uid: '1', name: 'f' } },
      { app_name: 'native', team_mode: 'native_app', team_context: { chat_scene: 'chat_normal' } },
    ];
    for (const body of bodies) expect((await http.post('/api/v2/serve/apps').set(AUTH).send(body)).status).toBe(201);
    await http
      .post(
        `/api/v2/serve/apps/${(await http.get('/api/v2/serve/apps').set(AUTH)).body.data.app_list[0].app_code}/collect?user_code=u`,
      )
      .set(AUTH);
    const list = (await http.get('/api/v2/serve/apps').query({ user_code: 'u', is_collected: 'true' }).set(AUTH)).body
      .data.app_list;
    const all = (await http.get('/api/v2/serve/apps').set(AUTH)).body.data.app_list;
    const apps = [...all, ...list];
    expect(apps).toHaveLength(5);
    const run = spawnSync('python3', [join(__dirname, 'python', 'validate_apps.py')], {
      input: JSON.stringify(apps),
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('validated 5 apps');
    expect(run.status).toBe(0);
  });

  it('datasources validate as DatasourceModel', async () => {
    const http = request(server.origin);
    const one = await http.get(`/api/v2/serve/datasources`).set(AUTH);
    const items = [...(one.body.data as unknown[])];
    expect(items.length).toBeGreaterThan(0);
    const run = spawnSync('python3', [join(__dirname, 'python', 'validate_datasources.py')], {
      input: JSON.stringify(items),
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(`validated ${items.length} datasources`);
    expect(run.status).toBe(0);
  });
});

const CLIENT = join(__dirname, 'python', 'dbgpt_client_check.py');
const PLAN = JSON.stringify([
  { serial_number: 1, agent: 'AI Assistant', content: 'Collect the facts', rely: '' },
  { serial_number: 2, agent: 'Summarizer', content: 'Summarize the facts', rely: '1' },
]);
const promptText = (body: ChatRequestBody) => (body.messages ?? []).map((m) => String(m.content)).join('\n');
/** Plans for the Planner, one fixed answer for every other call. */
const scripted = (body: ChatRequestBody): FakeReply =>
  promptText(body).includes('serial_number') ? { text: PLAN } : { text: 'The answer is 42.' };

/** Every plan item of a vis document, nested messages' markdown included. */
const planItems = (doc: string) =>
  parseVis(doc).flatMap((b) => (b.tag === 'agent-plans' ? (b.items as { status: string; markdown: string }[]) : []));

/**
 * DB-GPT's client (its models and its chat/stream/app code restated in
 * python/dbgpt_client_check.py) and the openai npm client, through every
 * stream and admin call, failures included.
 */
(havePydantic ? describe : describe.skip)('both client families survive every stream and admin call', () => {
  // each scenario starts a python process (about a second on a busy machine)
  jest.setTimeout(60_000);
  let env: ChatEnv;
  let openai: OpenAI;
  const apps: Record<string, string> = {};

  /** Runs one scenario of the restated client in a python process (async: the server shares this process). */
  const client = async (scenario: string, args: Record<string, unknown>) => {
    const { stdout, stderr } = await execFileAsync('python3', [CLIENT, scenario, JSON.stringify(args)], {
      env: { ...process.env, DBGPT_API_BASE: `${env.server.origin}/api/v2`, DBGPT_API_KEY: API_KEY },
    });
    expect(stderr).toBe('');
    return JSON.parse(stdout) as Record<string, unknown> & { ok: boolean };
  };
  const createApp = async (body: Record<string, unknown>) => {
    const res = await request(env.server.origin).post('/api/v2/serve/apps').set(AUTH).send(body);
    expect(res.status).toBe(201);
    return res.body.data.app_code as string;
  };

  beforeAll(async () => {
    env = await startChatEnv();
    openai = new OpenAI({ apiKey: API_KEY, baseURL: `${env.server.origin}/api/v2`, maxRetries: 0 });
    const details = (...names: string[]) => names.map((agent_name) => ({ agent_name }));
    apps.single_agent = await createApp({
      app_name: 'single',
      team_mode: 'single_agent',
      details: details('Summarizer'),
    });
    apps.auto_plan = await createApp({
      app_name: 'plan',
      team_mode: 'auto_plan',
      details: details('AI Assistant', 'Summarizer'),
    });
    apps.awel_layout = await createApp({
      app_name: 'pipeline',
      team_mode: 'awel_layout',
      details: details('AI Assistant', 'Summarizer'),
    });
    apps.native_app = await createApp({
      app_name: 'native',
      team_mode: 'native_app',
      team_context: { chat_scene: 'chat_normal' },
    });
  });
  afterAll(() => env.close());
  beforeEach(() => {
    env.fake.reset();
    env.fake.setHandler(scripted);
  });

  it('text += delta.content holds over every mode; the stream ends with finish_reason stop', async () => {
    const normal = await client('stream', { model: 'fake-gpt', messages: 'Hello?' });
    expect(normal).toEqual({ ok: true, text: 'The answer is 42.', finish_reasons: ['stop'], chunks: 5 });
    const runs = Object.entries(apps).flatMap(([mode, appCode]) =>
      [true, false].flatMap((incremental) =>
        [true, false].map((enable_vis) => ({ mode, appCode, incremental, enable_vis })),
      ),
    );
    const { results } = (await client('streams', {
      runs: runs.map((r) => ({
        model: 'fake-gpt',
        messages: 'Hello?',
        chat_mode: 'chat_app',
        chat_param: r.appCode,
        incremental: r.incremental,
        enable_vis: r.enable_vis,
      })),
    })) as unknown as { results: Record<string, unknown>[] };
    expect(results).toHaveLength(16);
    for (const [i, { mode, incremental, enable_vis }] of runs.entries()) {
      const got = results[i];
      const where = `${mode} incremental=${incremental} enable_vis=${enable_vis}`;
      expect([where, got.ok, got.finish_reasons]).toEqual([where, true, ['stop']]);
      const text = got.text as string;
      expect(text).toContain('The answer is 42.');
      if (incremental && enable_vis) expect(planItems(text).map((p) => p.status)).not.toContain('failed');
      if (incremental && !enable_vis) expect(text).toBe('The answer is 42.');
    }
  });

  it('a failing app: the stream reaches [DONE] showing the failed step; non-stream returns the error body', async () => {
    env.fake.setHandler(() => ({ status: 500 }));
    const args = { model: 'fake-gpt', messages: 'Hello?', chat_mode: 'chat_app', chat_param: apps.single_agent };
    const vis = await client('stream', args);
    expect(vis).toMatchObject({ ok: true, finish_reasons: ['stop'] });
    const items = planItems(vis.text as string);
    expect(items.map((i) => i.status)).toEqual(['failed']);
    expect(items[0].markdown).toContain('Run failed: ');
    const plain = await client('stream', { ...args, enable_vis: false });
    expect(plain).toMatchObject({ ok: true, finish_reasons: ['stop'] });
    expect(plain.text).toMatch(/^Run failed: .+/);
    const once = await client('chat', args);
    expect(once).toEqual({
      ok: true,
      error_body: expect.objectContaining({ success: false, err_code: 'run_failed', data: null }),
    });

    // a plan the Planner cannot produce
    env.fake.setHandler(() => ({ text: 'no plan today' }));
    const planless = await client('stream', { ...args, chat_param: apps.auto_plan });
    expect(planless).toMatchObject({ ok: true, finish_reasons: ['stop'] });
    expect(planless.text).toContain('Run failed: ');
    expect(() => parseVis(planless.text as string)).not.toThrow();
  });

  it('an upstream content_filter reaches DB-GPT callers as stop, OpenAI callers as content_filter', async () => {
    env.fake.setHandler(() => ({ text: 'Partly said', finishReason: 'content_filter' }));
    expect(await client('stream', { model: 'fake-gpt', messages: 'Hello?' })).toMatchObject({
      ok: true,
      text: 'Partly said',
      finish_reasons: ['stop'],
    });
    expect(await client('chat', { model: 'fake-gpt', messages: 'Hello?' })).toEqual({
      ok: true,
      content: 'Partly said',
      finish_reason: 'stop',
    });
    const messages = [{ role: 'user' as const, content: 'Hello?' }];
    const once = await openai.chat.completions.create({ model: 'fake-gpt', messages });
    expect(once.choices[0].finish_reason).toBe('content_filter');
    const reasons: (string | null)[] = [];
    for await (const chunk of await openai.chat.completions.create({ model: 'fake-gpt', messages, stream: true }))
      reasons.push(chunk.choices[0]?.finish_reason ?? null);
    expect(reasons.filter((r) => r !== null)).toEqual(['content_filter']);
  });

  it("lists with DB-GPT's parameters: user_name, unknown ones, a page_size above 100", async () => {
    const owned = await createApp({ app_name: 'owned', team_mode: 'single_agent', user_code: 'alice' });
    await request(env.server.origin).post(`/api/v2/serve/apps/${owned}/collect?user_code=bob`).set(AUTH);
    expect(await client('apps', { user_name: 'alice' })).toEqual({ ok: true, apps: [['owned', 'false']] });
    expect(await client('apps', { user_name: 'bob', is_collected: 'true' })).toEqual({
      ok: true,
      apps: [['owned', 'true']],
    });
    expect(await client('apps', { is_collected: 'true', is_recent_used: 'true' })).toEqual({
      ok: true,
      apps: [['owned', 'true']],
    });
    const all = await client('apps', { page_size: 500, need_owner_info: 'true' });
    expect(all.ok).toBe(true);
    expect(all.apps).toHaveLength(5);
    await request(env.server.origin).delete(`/api/v2/serve/apps/${owned}`).set(AUTH);
  });

  it('takes an app exported from DB-GPT as is (every GptsApp field) and reads it back with get_app', async () => {
    const exported = exportedApp;
    const got = await client('create_and_get', exported);
    expect(got.ok).toBe(true);
    expect(got.app).toMatchObject({
      app_code: 'exported-app',
      app_name: 'Exported',
      team_mode: 'auto_plan',
      user_code: 'alice',
      is_collected: 'false',
      details: [{ agent_name: 'Summarizer', llm_strategy_value: 'fake-gpt,backup-gpt', node_id: 'node-1' }],
    });
    const refused = await client('create_and_get', { ...exported, app_name: 'Other', app_code: 'other', bogus: 1 });
    expect(refused).toMatchObject({ ok: false, status: 400, body: { err_code: 'validation_error' } });
    expect((refused.body as { err_msg: string }).err_msg).toContain('property bogus should not exist');
    const scene = await client('create_and_get', {
      app_name: 'Dashboard',
      team_mode: 'native_app',
      team_context: { chat_scene: 'chat_dashboard' },
    });
    expect(scene).toMatchObject({ ok: false, status: 400, body: { error: { param: 'team_context.chat_scene' } } });
    await request(env.server.origin).delete('/api/v2/serve/apps/exported-app').set(AUTH);
  });

  it("indexes a native app's team_context as DB-GPT callers do", async () => {
    expect(await client('native_scene', { app_code: apps.native_app })).toEqual({
      ok: true,
      raw: 'chat_normal',
      model: 'chat_normal',
    });
  });

  it('openai npm: the failure frame raises APIError with its message; a normal stream ends with finish_reason', async () => {
    const messages = [{ role: 'user' as const, content: 'Hello?' }];
    const reasons: (string | null)[] = [];
    let text = '';
    for await (const chunk of await openai.chat.completions.create({ model: 'fake-gpt', messages, stream: true })) {
      text += chunk.choices[0]?.delta?.content ?? '';
      reasons.push(chunk.choices[0]?.finish_reason ?? null);
    }
    expect(text).toBe('The answer is 42.');
    expect(reasons[reasons.length - 1]).toBe('stop');

    // an app whose model is down
    env.fake.setHandler(() => ({ status: 500 }));
    const raw = await rawPost(env.server.origin, '/api/v2/chat/completions', {
      model: 'fake-gpt',
      messages: 'Hello?',
      chat_mode: 'chat_app',
      chat_param: apps.single_agent,
    });
    const failure = JSON.parse(dataLines(raw.body).pop()!) as { error: { message: string; code: string } };
    expect(failure.error.code).toBe('run_failed');
    const appStream = await openai.chat.completions.create({
      model: 'fake-gpt',
      messages,
      stream: true,
      ...({ chat_mode: 'chat_app', chat_param: apps.single_agent } as object),
    });
    const caught = await (async () => {
      for await (const chunk of appStream) void chunk;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    expect((caught as InstanceType<typeof OpenAI.APIError>).message).toBe(failure.error.message);
    expect((caught as InstanceType<typeof OpenAI.APIError>).code).toBe('run_failed');

    // a plain chat cut mid-stream
    env.fake.setHandler(() => ({ tokens: ['a ', 'b ', 'c '], cutAfterTokens: 2 }));
    let partial = '';
    const cut = await (async () => {
      for await (const chunk of await openai.chat.completions.create({ model: 'fake-gpt', messages, stream: true }))
        partial += chunk.choices[0]?.delta?.content ?? '';
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(cut).toBeInstanceOf(OpenAI.APIError);
    expect((cut as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error');
    expect(partial).toBe('a b ');
  });
});
