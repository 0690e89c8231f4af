import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';
import { AUTH, startTestServer, TestServer } from './support/server';

/** Whether this machine's python3 has pydantic (.ci/run makes sure it has). */
const havePydantic = spawnSync('python3', ['-c', 'import pydantic']).status === 0;
if (!havePydantic) {
  console.warn(
    'python3 with pydantic not found: the DB-GPT client type check is skipped on this machine (.ci/run installs it).',
  );
}

/** App bodies must validate against the types DB-GPT's Python client declares (the apps wire contract (README, Apps admin API)). */
(havePydantic ? describe : describe.skip)('app bodies as DB-GPT’s Python client reads them', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

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
