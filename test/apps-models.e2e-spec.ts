/**
 * Saving an app that names models this server does not serve: accepted (an
 * app exported from DB-GPT names DB-GPT's models), and the admin is told
 * which names will be skipped, in a `Warning` header per detail.
 */
import request from 'supertest';
import { AUTH, startTestServer, TestServer } from './support/server';

const BASE = '/api/v2/serve/apps';

const body = (details: Record<string, unknown>[]) => ({
  app_name: `models-${Math.random().toString(36).slice(2)}`,
  team_mode: 'auto_plan',
  details,
});

describe('apps naming unconfigured models', () => {
  let server: TestServer;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    server = await startTestServer();
    http = request(server.origin);
  });
  afterAll(() => server.close());

  it('accepts the app and warns, per detail, about each name that is not configured', async () => {
    const res = await http
      .post(BASE)
      .set(AUTH)
      .send(
        body([
          {
            agent_name: 'Summarizer',
            llm_strategy: 'priority',
            llm_strategy_value: 'chatgpt_proxyllm,ensemble-offline',
          },
          { agent_name: 'CodeEngineer', llm_strategy: 'default' },
          { agent_name: 'AI Assistant', llm_strategy: 'priority', llm_strategy_value: ['gpt-4o', 'qwen"72b'] },
        ]),
      )
      .expect(201);
    expect(res.body.success).toBe(true);
    expect(res.headers.warning).toBe(
      '299 ensemble "details[0].llm_strategy_value names models that are not configured here: chatgpt_proxyllm ' +
        '(they are skipped when the app runs; see GET /api/v2/models)", ' +
        '299 ensemble "details[2].llm_strategy_value names models that are not configured here: gpt-4o, qwen\\"72b ' +
        '(they are skipped when the app runs; see GET /api/v2/models)"',
    );

    const update = await http
      .put(`${BASE}/${res.body.data.app_code}`)
      .set(AUTH)
      .send({
        details: [{ agent_name: 'Summarizer', llm_strategy: 'priority', llm_strategy_value: 'ensemble-offline' }],
      })
      .expect(200);
    expect(update.headers.warning).toBeUndefined();
  });

  it('says nothing when every named model is configured', async () => {
    const res = await http
      .post(BASE)
      .set(AUTH)
      .send(body([{ agent_name: 'Summarizer', llm_strategy: 'priority', llm_strategy_value: 'ensemble-offline' }]))
      .expect(201);
    expect(res.headers.warning).toBeUndefined();
  });
});
