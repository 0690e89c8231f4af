import request from 'supertest';
import { DataSource } from 'typeorm';
import { expectDualError } from './support/expect-error';
import { AUTH, startTestServer, TestServer } from './support/server';

const BASE = '/api/v2/serve/apps';

const detail = (over: Record<string, unknown> = {}) => ({
  agent_name: 'Summarizer',
  node_id: 'n1',
  resources: [{ type: 'text_file', name: 'guide', value: 'AWEL is a workflow language', is_dynamic: false }],
  prompt_template: null,
  llm_strategy: 'priority',
  llm_strategy_value: 'chatgpt_proxyllm,gpt-4o',
  ...over,
});

const appBody = (over: Record<string, unknown> = {}) => ({
  app_name: 'awel-helper',
  app_describe: 'Answers questions about AWEL',
  team_mode: 'single_agent',
  language: 'en',
  user_code: 'alice',
  sys_code: 'docs',
  icon: 'https://example.test/icon.png',
  published: false,
  details: [detail()],
  ...over,
});

describe('Apps admin API (real Postgres)', () => {
  let server: TestServer;
  let http: ReturnType<typeof request>;
  const create = (body: Record<string, unknown>) => http.post(BASE).set(AUTH).send(body);

  beforeAll(async () => {
    server = await startTestServer({ BODY_LIMIT: '64kb' });
    http = request(server.origin);
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    await server.app.get(DataSource).query('TRUNCATE apps CASCADE');
  });

  describe('create and read', () => {
    it('creates an app with details and returns it in the Result envelope', async () => {
      const res = await create(appBody());
      expect(res.status).toBe(201);
      expect(Object.keys(res.body)).toEqual(['success', 'err_code', 'err_msg', 'data']);
      expect(res.body.success).toBe(true);
      const app = res.body.data;
      expect(app.app_code).toMatch(/^[0-9a-f-]{36}$/);
      expect(app).toMatchObject({
        app_name: 'awel-helper',
        app_describe: 'Answers questions about AWEL',
        team_mode: 'single_agent',
        language: 'en',
        team_context: null,
        user_code: 'alice',
        sys_code: 'docs',
        is_collected: 'false',
        icon: 'https://example.test/icon.png',
        published: 'false',
        keep_start_rounds: 0,
        keep_end_rounds: 0,
      });
      expect(new Date(app.created_at).toISOString()).toBe(app.created_at);
      expect(Date.now() - Date.parse(app.created_at)).toBeLessThan(60_000);
      expect(app.details).toEqual([
        {
          app_code: app.app_code,
          app_name: 'awel-helper',
          agent_name: 'Summarizer',
          node_id: 'n1',
          resources: [{ type: 'text_file', name: 'guide', value: 'AWEL is a workflow language', is_dynamic: false }],
          prompt_template: null,
          llm_strategy: 'priority',
          llm_strategy_value: 'chatgpt_proxyllm,gpt-4o',
          created_at: expect.any(String),
          updated_at: expect.any(String),
        },
      ]);
      const got = await http.get(`${BASE}/${app.app_code}`).set(AUTH);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(res.body);
    });

    it('keeps a client-chosen app_code and defaults language to en', async () => {
      const res = await create({ app_code: 'my-app.1', app_name: 'x', team_mode: 'auto_plan' });
      expect(res.status).toBe(201);
      expect(res.body.data).toMatchObject({ app_code: 'my-app.1', language: 'en', details: [], app_describe: '' });
    });

    it('stores a JSON-array llm_strategy_value as the comma-separated string (no double encoding)', async () => {
      const a = await create(appBody({ app_name: 'arr', details: [detail({ llm_strategy_value: ['m1', 'm2'] })] }));
      const b = await create(appBody({ app_name: 'json', details: [detail({ llm_strategy_value: '["m1","m2"]' })] }));
      expect(a.body.data.details[0].llm_strategy_value).toBe('m1,m2');
      expect(b.body.data.details[0].llm_strategy_value).toBe('m1,m2');
    });

    it('accepts published as "false"/"true" strings and keeps "false" false', async () => {
      const f = await create(appBody({ app_name: 'f', published: 'false' }));
      const t = await create(appBody({ app_name: 't', published: 'true' }));
      expect(f.body.data.published).toBe('false');
      expect(t.body.data.published).toBe('true');
      const list = await http.get(BASE).query({ published: 'false' }).set(AUTH);
      expect(list.body.data.app_list.map((a: { app_name: string }) => a.app_name)).toEqual(['f']);
    });

    it('returns team_context in the form it was given: strings as strings, objects as objects', async () => {
      const s = await create(appBody({ app_name: 's', team_context: 'free text' }));
      const awel = { dag_id: 'flow_dag_x', uid: 'x', name: 'flow' };
      const a = await create(appBody({ app_name: 'a', team_mode: 'awel_layout', team_context: awel }));
      const n = await create(
        appBody({ app_name: 'n', team_mode: 'native_app', team_context: { chat_scene: 'chat_normal' } }),
      );
      expect(s.body.data.team_context).toBe('free text');
      expect(a.body.data.team_context).toEqual(awel);
      expect(n.body.data.team_context).toEqual({ chat_scene: 'chat_normal' });
      expect((await http.get(`${BASE}/${n.body.data.app_code}`).set(AUTH)).body.data.team_context).toEqual({
        chat_scene: 'chat_normal',
      });
    });

    it('refuses a native app whose scene cannot run, at create and update, naming the scenes served', async () => {
      for (const team_context of [{ chat_scene: 'chat_flow' }, '{"chat_scene":"chat_excel"}', 'chat_dashboard']) {
        const res = await create(appBody({ app_name: 'n', team_mode: 'native_app', team_context }));
        expectDualError(res, 400, 'validation_error', 'team_context.chat_scene');
        expect(res.body.err_msg).toMatch(
          /^team_context\.chat_scene "chat_\w+" is not served .*served scenes: chat_normal, chat_knowledge\.$/,
        );
      }
      const n = (
        await create(appBody({ app_name: 'n', team_mode: 'native_app', team_context: { chat_scene: 'chat_normal' } }))
      ).body.data;
      const put = (body: Record<string, unknown>) => http.put(`${BASE}/${n.app_code}`).set(AUTH).send(body);
      expectDualError(
        await put({ team_context: { chat_scene: 'chat_dashboard' } }),
        400,
        'validation_error',
        'team_context.chat_scene',
      );
      // a single_agent app's context is free; turning it native checks the scene it holds
      const s = (await create(appBody({ app_name: 's', team_context: { chat_scene: 'chat_dashboard' } }))).body.data;
      expectDualError(
        await http.put(`${BASE}/${s.app_code}`).set(AUTH).send({ team_mode: 'native_app' }),
        400,
        'validation_error',
        'team_context.chat_scene',
      );
      expect((await put({ app_describe: 'still fine' })).status).toBe(200);
    });

    it('takes nulls for fields DB-GPT leaves unset as absent', async () => {
      const res = await create(
        appBody({
          app_describe: null,
          language: null,
          published: null,
          param_need: null,
          admins: null,
          keep_end_rounds: null,
        }),
      );
      expect(res.status).toBe(201);
      expect(res.body.data).toMatchObject({
        app_describe: '',
        language: 'en',
        published: 'false',
        param_need: [],
        admins: [],
      });
      const put = await http
        .put(`${BASE}/${res.body.data.app_code}`)
        .set(AUTH)
        .send({ app_name: null, team_mode: null });
      expect(put.status).toBe(200);
      expect(put.body.data).toMatchObject({ app_name: 'awel-helper', team_mode: 'single_agent' });
    });
  });

  describe('update', () => {
    it('GET → PUT → GET yields the same body', async () => {
      const created = (
        await create(
          appBody({
            details: [
              detail(),
              detail({ agent_name: 'CodeEngineer', llm_strategy: 'default', llm_strategy_value: null }),
            ],
          }),
        )
      ).body.data;
      const before = await http.get(`${BASE}/${created.app_code}`).set(AUTH);
      const put = await http.put(`${BASE}/${created.app_code}`).set(AUTH).send(before.body.data);
      expect(put.status).toBe(200);
      const after = await http.get(`${BASE}/${created.app_code}`).set(AUTH);
      expect(after.body).toEqual(before.body);
      expect(put.body).toEqual(before.body);
    });

    it('uses the path id, changes fields, replaces details and bumps updated_at', async () => {
      const created = (await create(appBody())).body.data;
      const other = (await create(appBody({ app_name: 'other' }))).body.data;
      const res = await http
        .put(`${BASE}/${created.app_code}`)
        .set(AUTH)
        .send({
          app_describe: 'changed',
          details: [detail({ agent_name: 'AI Assistant', llm_strategy: 'default', llm_strategy_value: null })],
        });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({
        app_code: created.app_code,
        app_name: 'awel-helper',
        app_describe: 'changed',
      });
      expect(res.body.data.details.map((d: { agent_name: string }) => d.agent_name)).toEqual(['AI Assistant']);
      expect(Date.parse(res.body.data.updated_at)).toBeGreaterThan(Date.parse(created.updated_at));
      const untouched = await http.get(`${BASE}/${other.app_code}`).set(AUTH);
      expect(untouched.body.data.app_describe).toBe(other.app_describe);
    });

    it('rejects a body app_code that differs from the path', async () => {
      const created = (await create(appBody())).body.data;
      const res = await http.put(`${BASE}/${created.app_code}`).set(AUTH).send({ app_code: 'another' });
      expectDualError(res, 400, 'validation_error', 'app_code');
    });

    it('404 for an unknown id, 409 when renaming onto another app', async () => {
      expectDualError(
        await http.put(`${BASE}/nope`).set(AUTH).send({ app_describe: 'x' }),
        404,
        'app_not_found',
        'app_code',
      );
      await create(appBody({ app_name: 'taken' }));
      const mine = (await create(appBody({ app_name: 'mine' }))).body.data;
      expectDualError(
        await http.put(`${BASE}/${mine.app_code}`).set(AUTH).send({ app_name: 'taken' }),
        409,
        'app_name_conflict',
        'app_name',
      );
    });

    it('is atomic: an invalid detail leaves the app and its details as they were', async () => {
      const created = (await create(appBody())).body.data;
      const res = await http
        .put(`${BASE}/${created.app_code}`)
        .set(AUTH)
        .send({ app_describe: 'half', details: [detail(), detail({ agent_name: 'Nobody' })] });
      expectDualError(res, 400, 'validation_error', 'details[1].agent_name');
      const after = await http.get(`${BASE}/${created.app_code}`).set(AUTH);
      expect(after.body.data).toEqual(created);
    });

    it('is atomic in the database: a rename conflict rolls back the detail changes', async () => {
      await create(appBody({ app_name: 'taken' }));
      const mine = (await create(appBody({ app_name: 'mine' }))).body.data;
      const res = await http
        .put(`${BASE}/${mine.app_code}`)
        .set(AUTH)
        .send({ app_name: 'taken', details: [detail({ agent_name: 'CodeEngineer' })] });
      expect(res.status).toBe(409);
      const after = await http.get(`${BASE}/${mine.app_code}`).set(AUTH);
      expect(after.body.data).toEqual(mine);
    });
  });

  describe('delete and collections', () => {
    it('deletes an app (data []) and then 404s', async () => {
      const created = (await create(appBody())).body.data;
      const del = await http.delete(`${BASE}/${created.app_code}`).set(AUTH);
      expect(del.status).toBe(200);
      expect(del.body).toEqual({ success: true, err_code: null, err_msg: null, data: [] });
      expectDualError(await http.get(`${BASE}/${created.app_code}`).set(AUTH), 404, 'app_not_found', 'app_code');
      expectDualError(await http.delete(`${BASE}/${created.app_code}`).set(AUTH), 404, 'app_not_found', 'app_code');
    });

    it('collects per user and filters by is_collected for that user', async () => {
      const a = (await create(appBody({ app_name: 'a', user_code: 'owner' }))).body.data;
      await create(appBody({ app_name: 'b', user_code: 'owner' }));
      const col = await http.post(`${BASE}/${a.app_code}/collect`).query({ user_code: 'bob' }).set(AUTH);
      expect(col.status).toBe(200);
      expect(col.body).toEqual({ success: true, err_code: null, err_msg: null, data: true });
      // idempotent
      expect((await http.post(`${BASE}/${a.app_code}/collect`).query({ user_code: 'bob' }).set(AUTH)).status).toBe(200);

      const names = async (q: Record<string, string>) =>
        (await http.get(BASE).query(q).set(AUTH)).body.data.app_list.map(
          (x: { app_name: string; is_collected: string }) => `${x.app_name}:${x.is_collected}`,
        );
      expect(await names({ user_code: 'bob', is_collected: 'true' })).toEqual(['a:true']);
      expect(await names({ user_code: 'bob', is_collected: 'false' })).toEqual(['b:false']);
      expect(await names({ user_code: 'carol', is_collected: 'true' })).toEqual([]);
      expect(
        (await http.get(`${BASE}/${a.app_code}`).query({ user_code: 'bob' }).set(AUTH)).body.data.is_collected,
      ).toBe('true');
      expect(
        (await http.get(`${BASE}/${a.app_code}`).query({ user_code: 'carol' }).set(AUTH)).body.data.is_collected,
      ).toBe('false');

      const un = await http.delete(`${BASE}/${a.app_code}/collect`).query({ user_code: 'bob' }).set(AUTH);
      expect(un.body.data).toBe(true);
      expect(await names({ user_code: 'bob', is_collected: 'true' })).toEqual([]);
      expect((await names({ user_code: 'bob', is_collected: 'false' })).sort()).toEqual(['a:false', 'b:false']);
    });

    it('collect needs a user_code and a known app', async () => {
      const a = (await create(appBody())).body.data;
      expectDualError(await http.post(`${BASE}/${a.app_code}/collect`).set(AUTH), 400, 'validation_error', 'user_code');
      expectDualError(
        await http.post(`${BASE}/nope/collect`).query({ user_code: 'u' }).set(AUTH),
        404,
        'app_not_found',
        'app_code',
      );
      expectDualError(
        await http.delete(`${BASE}/nope/collect`).query({ user_code: 'u' }).set(AUTH),
        404,
        'app_not_found',
        'app_code',
      );
    });

    it('is_collected without user_code: collected by anyone, or by no one', async () => {
      const a = (await create(appBody({ app_name: 'a' }))).body.data;
      await create(appBody({ app_name: 'b' }));
      await http.post(`${BASE}/${a.app_code}/collect`).query({ user_code: 'bob' }).set(AUTH);
      await http.post(`${BASE}/${a.app_code}/collect`).query({ user_code: 'carol' }).set(AUTH);
      const names = async (q: Record<string, string>) =>
        (await http.get(BASE).query(q).set(AUTH)).body.data.app_list.map(
          (x: { app_name: string; is_collected: string }) => `${x.app_name}:${x.is_collected}`,
        );
      expect(await names({ is_collected: 'true' })).toEqual(['a:true']);
      expect(await names({ is_collected: 'false' })).toEqual(['b:false']);
      // DB-GPT's user_name is user_code
      expect(await names({ user_name: 'bob', is_collected: 'true' })).toEqual(['a:true']);
      expect(await names({ user_name: 'dave', is_collected: 'true' })).toEqual([]);
    });
  });

  describe('list: paging and filters', () => {
    beforeEach(async () => {
      const modes = ['single_agent', 'auto_plan', 'awel_layout', 'native_app'];
      for (let i = 0; i < 7; i++) {
        await create(
          appBody({
            app_name: `app ${i}`,
            team_mode: modes[i % 4],
            user_code: i < 4 ? 'alice' : 'bob',
            sys_code: i % 2 ? 'odd' : 'even',
            published: i === 6,
          }),
        );
      }
    });

    it('pages with correct totals, newest first, and an empty page past the end', async () => {
      const page = (p: number, size: number) => http.get(BASE).query({ page: p, page_size: size }).set(AUTH);
      const p1 = (await page(1, 3)).body.data;
      expect(p1).toMatchObject({ total_count: 7, total_page: 3, current_page: 1 });
      expect(p1.app_list.map((a: { app_name: string }) => a.app_name)).toEqual(['app 6', 'app 5', 'app 4']);
      const p3 = (await page(3, 3)).body.data;
      expect(p3.app_list.map((a: { app_name: string }) => a.app_name)).toEqual(['app 0']);
      const p4 = (await page(4, 3)).body.data;
      expect(p4).toEqual({ app_list: [], total_count: 7, total_page: 3, current_page: 4 });
      const exact = (await page(1, 7)).body.data;
      expect(exact).toMatchObject({ total_count: 7, total_page: 1 });
      expect(exact.app_list).toHaveLength(7);
      expect(exact.app_list[0].details).toHaveLength(1);
    });

    it('filters by user_code, sys_code, team_mode and published', async () => {
      const count = async (q: Record<string, string>) =>
        (await http.get(BASE).query(q).set(AUTH)).body.data.total_count;
      expect(await count({ user_code: 'alice' })).toBe(4);
      expect(await count({ user_code: 'bob' })).toBe(3);
      expect(await count({ sys_code: 'odd' })).toBe(3);
      expect(await count({ team_mode: 'auto_plan' })).toBe(2);
      expect(await count({ published: 'true' })).toBe(1);
      expect(await count({ published: 'false' })).toBe(6);
      expect(await count({ user_code: 'alice', sys_code: 'even', team_mode: 'single_agent' })).toBe(1);
    });

    it('matches app_name literally: % and _ are not wildcards', async () => {
      await create(appBody({ app_name: '100% sure' }));
      await create(appBody({ app_name: 'snake_case' }));
      await create(appBody({ app_name: 'back\\slash' }));
      const names = async (app_name: string) =>
        (await http.get(BASE).query({ app_name }).set(AUTH)).body.data.app_list.map(
          (a: { app_name: string }) => a.app_name,
        );
      expect(await names('%')).toEqual(['100% sure']);
      expect(await names('_')).toEqual(['snake_case']);
      expect(await names('APP 3')).toEqual(['app 3']);
      expect(await names('\\')).toEqual(['back\\slash']);
      expect(await names('e_c')).toEqual(['snake_case']);
      expect(await names('p_3')).toEqual([]);
    });

    it('rejects bad paging and filter values with 400 naming the field', async () => {
      expectDualError(await http.get(BASE).query({ page: 0 }).set(AUTH), 400, 'validation_error', 'page');
      expectDualError(await http.get(BASE).query({ page_size: 0 }).set(AUTH), 400, 'validation_error', 'page_size');
      expectDualError(await http.get(BASE).query({ page: 'x' }).set(AUTH), 400, 'validation_error', 'page');
      expectDualError(
        await http.get(BASE).query({ team_mode: 'chaos' }).set(AUTH),
        400,
        'validation_error',
        'team_mode',
      );
      expectDualError(await http.get(BASE).query({ published: 'yes' }).set(AUTH), 400, 'validation_error', 'published');
    });

    it("takes DB-GPT's list parameters: user_name as user_code, unknown ones ignored, page_size clamped to 100", async () => {
      const count = async (q: Record<string, string>) => {
        const res = await http.get(BASE).query(q).set(AUTH);
        expect(res.status).toBe(200);
        return res.body.data.total_count as number;
      };
      expect(await count({ user_name: 'alice' })).toBe(4);
      expect(await count({ user_name: 'bob', sys_code: 'odd' })).toBe(1);
      expect(await count({ user_code: 'alice', user_name: 'bob' })).toBe(4);
      expect(await count({ bogus: '1', is_recent_used: 'true', need_owner_info: 'false' })).toBe(7);
      // the other app routes ignore unknown parameters too (DB-GPT's delete sends user_code and sys_code)
      const one = (await http.get(BASE).query({ page_size: 1 }).set(AUTH)).body.data.app_list[0].app_code as string;
      expect((await http.get(`${BASE}/${one}`).query({ bogus: '1' }).set(AUTH)).status).toBe(200);
      const collect = http.post(`${BASE}/${one}/collect`).query({ user_code: 'u', sys_code: 's' });
      expect((await collect.set(AUTH)).status).toBe(200);
      const clamped = (await http.get(BASE).query({ page_size: 1000 }).set(AUTH)).body.data;
      expect(clamped).toMatchObject({ total_count: 7, total_page: 1, current_page: 1 });
      expect(clamped.app_list).toHaveLength(7);
      for (let i = 0; i < 100; i++) await create(appBody({ app_name: `more ${i}`, details: [] }));
      const big = (await http.get(BASE).query({ page_size: 500, page: 2 }).set(AUTH)).body.data;
      expect(big).toMatchObject({ total_count: 107, total_page: 2, current_page: 2 });
      expect(big.app_list).toHaveLength(7);
    });
  });

  describe('validation at the edge', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['unknown team_mode', appBody({ team_mode: 'swarm' }), 'team_mode'],
      ['unknown agent_name', appBody({ details: [detail({ agent_name: 'Hacker' })] }), 'details[0].agent_name'],
      ['internal Planner role', appBody({ details: [detail({ agent_name: 'Planner' })] }), 'details[0].agent_name'],
      ['unknown llm_strategy', appBody({ details: [detail({ llm_strategy: 'cheapest' })] }), 'details[0].llm_strategy'],
      ['missing app_name', { team_mode: 'single_agent' }, 'app_name'],
      ['app_name of the wrong type', appBody({ app_name: 42 }), 'app_name'],
      ['over-long app_name', appBody({ app_name: 'x'.repeat(256) }), 'app_name'],
      [
        'resource value not a string',
        appBody({ details: [detail({ resources: [{ type: 't', name: 'n', value: 5 }] })] }),
        'details[0].resources[0].value',
      ],
      ['unknown property', appBody({ colour: 'red' }), 'colour'],
      ['unknown nested property', appBody({ details: [detail({ extra: 1 })] }), 'details[0].extra'],
      ['details not a list', appBody({ details: 'Summarizer' }), 'details'],
      ['negative keep_end_rounds', appBody({ keep_end_rounds: -1 }), 'keep_end_rounds'],
      ['published not boolean', appBody({ published: 'maybe' }), 'published'],
    ];
    it.each(cases)('%s → 400 naming the field, nothing written', async (_name, body, param) => {
      const res = await create(body);
      expectDualError(res, 400, 'validation_error', param);
      expect(res.body.error.type).toBe('invalid_request_error');
      expect(res.body.err_msg).toContain(param);
      const list = await http.get(BASE).set(AUTH);
      expect(list.body.data.total_count).toBe(0);
    });

    it('a duplicate app_name is a 409 and leaves one app', async () => {
      expect((await create(appBody())).status).toBe(201);
      const dup = await create(appBody({ details: [detail({ agent_name: 'CodeEngineer' })] }));
      expectDualError(dup, 409, 'app_name_conflict', 'app_name');
      expect((await http.get(BASE).set(AUTH)).body.data.total_count).toBe(1);
    });

    it('a duplicate app_code is a 409', async () => {
      await create(appBody({ app_code: 'fixed' }));
      expectDualError(
        await create(appBody({ app_code: 'fixed', app_name: 'other' })),
        409,
        'app_code_conflict',
        'app_code',
      );
    });

    it('concurrent creates with one name: exactly one 201, the rest 409', async () => {
      const results = await Promise.all(Array.from({ length: 12 }, () => create(appBody({ app_name: 'race' }))));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(11);
      const list = await http.get(BASE).query({ app_name: 'race' }).set(AUTH);
      expect(list.body.data.total_count).toBe(1);
      expect(list.body.data.app_list[0].details).toHaveLength(1);
    });

    it('malformed JSON → 400 invalid_json; a body over the limit → 413', async () => {
      const bad = await http.post(BASE).set(AUTH).set('Content-Type', 'application/json').send('{"app_name":');
      expectDualError(bad, 400, 'invalid_json', null);
      const big = await create(appBody({ app_describe: 'x'.repeat(70 * 1024) }));
      expectDualError(big, 413, 'payload_too_large', null);
    });

    it('never leaks a stack trace or driver message', async () => {
      const res = await http.get(`${BASE}/${'%00'}`).set(AUTH);
      expect(res.status).toBeLessThan(500);
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+|QueryFailedError|invalid byte sequence/);
    });
  });
});
