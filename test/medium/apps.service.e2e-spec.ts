import { DataSource } from 'typeorm';
import { AppsError, AppsErrorCode } from '../../apps/server/src/apps/apps.errors';
import { AppsRepository } from '../../apps/server/src/apps/apps.repository';
import { AppsService } from '../../apps/server/src/apps/apps.service';
import { AppResourceChecks } from '../../apps/server/src/apps/resource-checks';
import type { AppDetailDto, CreateAppDto } from '../../apps/server/src/apps/dto/app.dto';
import { ListAppsQuery } from '../../apps/server/src/apps/dto/list-apps.query';
import { DomainErrorKind } from '../../apps/server/src/common/domain-error';
import { dataSourceOptions } from '../../apps/server/src/database/data-source';
import { PgPool } from '../../apps/server/src/database/pg-pool';
import { Sql } from '../../apps/server/src/database/sql';
import { createTestDatabase, TestDatabase } from '../support/database';

/** AppsService on the real AppsRepository and a real Postgres database; nothing else is started. */
describe('AppsService with AppsRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let apps: AppsService;

  const detail = (agent_name: string, over: Partial<AppDetailDto> = {}): AppDetailDto => ({
    agent_name,
    node_id: null,
    resources: [{ type: 'text_file', name: 'guide', value: 'v', is_dynamic: false }],
    prompt_template: null,
    llm_strategy: 'priority',
    llm_strategy_value: 'gpt-a,gpt-b',
    ...over,
  });
  const body = (app_name: string, over: Partial<CreateAppDto> = {}): CreateAppDto => ({
    app_name,
    team_mode: 'single_agent',
    user_code: 'alice',
    details: [detail('Summarizer')],
    ...over,
  });
  const query = (q: Partial<ListAppsQuery> = {}) => Object.assign(new ListAppsQuery(), q);
  const rows = (sql: string, params: unknown[] = []) => ds.query<Record<string, unknown>[]>(sql, params);
  const detailRows = (appCode: string) =>
    rows(
      `SELECT id, position, agent_name, llm_strategy_value, updated_at FROM app_details WHERE app_code = $1 ORDER BY position`,
      [appCode],
    );
  const failure = async (p: Promise<unknown>): Promise<AppsError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(AppsError);
    return e as AppsError;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    // The server's wiring: Sql on the pool the DataSource makes.
    const pg = new PgPool();
    ds = await new DataSource(dataSourceOptions(db.url, 2, undefined, pg.driver)).initialize();
    // Resource checks belong to other modules (tools, knowledge, datasources): replaced by a pass.
    const noChecks = { check: () => Promise.resolve() } as unknown as AppResourceChecks;
    apps = new AppsService(new AppsRepository(new Sql(pg)), noChecks);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });
  beforeEach(() => rows('TRUNCATE apps CASCADE'));

  it('creates an app and its details in order, as stored', async () => {
    const view = await apps.create(
      body('writer', { app_code: 'w1', details: [detail('Summarizer'), detail('CodeEngineer')] }),
    );
    expect(view).toMatchObject({ app_code: 'w1', app_name: 'writer', published: 'false', is_collected: 'false' });
    expect(view.details.map((d) => d.agent_name)).toEqual(['Summarizer', 'CodeEngineer']);
    expect(await rows('SELECT app_code, app_name, team_mode, user_code, admins FROM apps')).toEqual([
      { app_code: 'w1', app_name: 'writer', team_mode: 'single_agent', user_code: 'alice', admins: [] },
    ]);
    expect((await detailRows('w1')).map((r) => [r.position, r.agent_name, r.llm_strategy_value])).toEqual([
      [0, 'Summarizer', 'gpt-a,gpt-b'],
      [1, 'CodeEngineer', 'gpt-a,gpt-b'],
    ]);
  });

  it('refuses a duplicate app_name or app_code as a conflict, storing nothing of the second app', async () => {
    await apps.create(body('writer', { app_code: 'w1' }));
    const byName = await failure(apps.create(body('writer', { app_code: 'w2' })));
    expect([byName.kind, byName.code, byName.param]).toEqual([
      DomainErrorKind.Conflict,
      AppsErrorCode.AppNameConflict,
      'app_name',
    ]);
    const byCode = await failure(apps.create(body('other', { app_code: 'w1' })));
    expect([byCode.kind, byCode.code, byCode.param]).toEqual([
      DomainErrorKind.Conflict,
      AppsErrorCode.AppCodeConflict,
      'app_code',
    ]);
    expect(await rows('SELECT app_code FROM apps')).toEqual([{ app_code: 'w1' }]);
    expect(await rows('SELECT app_code FROM app_details')).toEqual([{ app_code: 'w1' }]);
  });

  it('refuses text with a NUL character as bad input, storing nothing (the transaction rolls back)', async () => {
    const nulInDetail = await failure(
      apps.create(body('nul', { app_code: 'n1', details: [detail('Summarizer', { prompt_template: 'a\u0000b' })] })),
    );
    expect([nulInDetail.kind, nulInDetail.code, nulInDetail.message]).toEqual([
      DomainErrorKind.BadInput,
      AppsErrorCode.InvalidInput,
      'Text must not contain NUL (\\u0000) characters.',
    ]);
    const nulInJson = await failure(apps.create(body('nul', { team_context: { note: 'a\u0000b' } })));
    expect(nulInJson.kind).toBe(DomainErrorKind.BadInput);
    const nulInFilter = await failure(apps.list(query({ app_name: 'a\u0000' })));
    expect(nulInFilter.kind).toBe(DomainErrorKind.BadInput);
    expect(await rows('SELECT count(*)::int AS n FROM apps')).toEqual([{ n: 0 }]);
  });

  it('reports an unknown app as not found on every operation', async () => {
    for (const op of [
      () => apps.get('nope'),
      () => apps.definition('nope'),
      () => apps.update('nope', { app_describe: 'x' }),
      () => apps.remove('nope'),
      () => apps.collect('nope', 'bob'),
      () => apps.uncollect('nope', 'bob'),
    ]) {
      const e = await failure(op());
      expect([e.kind, e.code, e.message, e.param]).toEqual([
        DomainErrorKind.NotFound,
        AppsErrorCode.AppNotFound,
        'App "nope" was not found.',
        'app_code',
      ]);
    }
  });

  it('updates fields and replaces details, keeping the rows of unchanged details', async () => {
    await apps.create(body('writer', { app_code: 'w1', details: [detail('Summarizer'), detail('CodeEngineer')] }));
    const before = await detailRows('w1');
    const [appBefore] = await rows('SELECT updated_at FROM apps');

    // The same body again: nothing is written.
    await apps.update('w1', { details: [detail('Summarizer'), detail('CodeEngineer')] });
    expect(await detailRows('w1')).toEqual(before);
    expect(await rows('SELECT updated_at FROM apps')).toEqual([appBefore]);

    // First detail kept, second changed, a third added; then shrunk to one.
    const view = await apps.update('w1', {
      app_describe: 'now described',
      details: [detail('Summarizer'), detail('AIAssistant'), detail('CodeEngineer', { llm_strategy: 'default' })],
    });
    expect(view.app_describe).toBe('now described');
    const after = await detailRows('w1');
    expect(after.map((r) => [r.position, r.agent_name])).toEqual([
      [0, 'Summarizer'],
      [1, 'AIAssistant'],
      [2, 'CodeEngineer'],
    ]);
    expect(after[0]).toEqual(before[0]);
    expect(after[1].id).toBe(before[1].id);
    expect(after[1].updated_at).not.toEqual(before[1].updated_at);
    const [appAfter] = await rows('SELECT app_describe, updated_at FROM apps');
    expect(appAfter.app_describe).toBe('now described');
    expect(appAfter.updated_at).not.toEqual(appBefore.updated_at);

    await apps.update('w1', { details: [detail('Summarizer')] });
    expect((await detailRows('w1')).map((r) => r.id)).toEqual([before[0].id]);
  });

  it('rolls an update back when a rule refuses it, and refuses an app_code that differs from the path', async () => {
    await apps.create(body('writer', { app_code: 'w1' }));
    const scene = await failure(
      apps.update('w1', {
        team_mode: 'native_app',
        team_context: { chat_scene: 'chat_nothing' },
        details: [],
      }),
    );
    expect([scene.kind, scene.param]).toEqual([DomainErrorKind.BadInput, 'team_context.chat_scene']);
    expect(await rows('SELECT team_mode FROM apps')).toEqual([{ team_mode: 'single_agent' }]);
    expect(await rows('SELECT count(*)::int AS n FROM app_details')).toEqual([{ n: 1 }]);
    const mismatch = await failure(apps.update('w1', { app_code: 'w2' }));
    expect([mismatch.kind, mismatch.param]).toEqual([DomainErrorKind.BadInput, 'app_code']);
  });

  it('lists newest first with filters, pages and totals', async () => {
    for (const [i, name] of ['alpha', 'beta_1', 'beta%2', 'gamma'].entries()) {
      await apps.create(body(name, { app_code: `a${i}`, user_code: i % 2 ? 'bob' : 'alice', published: i === 3 }));
    }
    const all = await apps.list(query({ page_size: 3 }));
    expect(all.app_list.map((a) => a.app_code)).toEqual(['a3', 'a2', 'a1']);
    expect([all.total_count, all.total_page, all.current_page]).toEqual([4, 2, 1]);
    const second = await apps.list(query({ page: 2, page_size: 3 }));
    expect([second.app_list.map((a) => a.app_code), second.total_count]).toEqual([['a0'], 4]);
    expect((await apps.list(query({ user_code: 'bob' }))).app_list.map((a) => a.app_code)).toEqual(['a3', 'a1']);
    expect((await apps.list(query({ published: 'true' }))).app_list.map((a) => a.app_code)).toEqual(['a3']);
    // Wildcards in the name filter match literally.
    expect((await apps.list(query({ app_name: 'A%' }))).app_list.map((a) => a.app_code)).toEqual(['a2']);
    expect((await apps.list(query({ app_name: 'beta_' }))).app_list.map((a) => a.app_code)).toEqual(['a1']);
    const past = await apps.list(query({ page: 5 }));
    expect([past.app_list, past.total_count]).toEqual([[], 4]);
  });

  it('collects and uncollects idempotently, and lists by collection', async () => {
    await apps.create(body('alpha', { app_code: 'a0' }));
    await apps.create(body('beta', { app_code: 'a1' }));
    await apps.collect('a1', 'carol');
    await apps.collect('a1', 'carol');
    expect(await rows('SELECT app_code, user_code FROM app_collections')).toEqual([
      { app_code: 'a1', user_code: 'carol' },
    ]);
    expect((await apps.get('a1', 'carol')).is_collected).toBe('true');
    expect((await apps.get('a0', 'carol')).is_collected).toBe('false');
    const mine = await apps.list(query({ user_code: 'carol', is_collected: 'true' }));
    expect(mine.app_list.map((a) => [a.app_code, a.is_collected])).toEqual([['a1', 'true']]);
    const notCollected = await apps.list(query({ is_collected: 'false' }));
    expect(notCollected.app_list.map((a) => [a.app_code, a.is_collected])).toEqual([['a0', 'false']]);
    await apps.uncollect('a1', 'carol');
    await apps.uncollect('a1', 'carol');
    expect(await rows('SELECT * FROM app_collections')).toEqual([]);
  });

  it('deletes an app with its details and collections', async () => {
    await apps.create(body('alpha', { app_code: 'a0', details: [detail('Summarizer'), detail('CodeEngineer')] }));
    await apps.collect('a0', 'carol');
    await apps.remove('a0');
    expect(await rows('SELECT count(*)::int AS n FROM apps')).toEqual([{ n: 0 }]);
    expect(await rows('SELECT count(*)::int AS n FROM app_details')).toEqual([{ n: 0 }]);
    expect(await rows('SELECT count(*)::int AS n FROM app_collections')).toEqual([{ n: 0 }]);
  });

  it('gives a run the app with its agents in order', async () => {
    await apps.create(
      body('alpha', {
        app_code: 'a0',
        team_context: '{"k": 1}',
        details: [detail('Summarizer'), detail('CodeEngineer', { llm_strategy: 'default', llm_strategy_value: null })],
      }),
    );
    const def = await apps.definition('a0');
    expect(def).toMatchObject({ appCode: 'a0', appName: 'alpha', teamMode: 'single_agent', teamContext: { k: 1 } });
    expect(def.agents.map((a) => [a.agentName, a.llmStrategy])).toEqual([
      ['Summarizer', { type: 'priority', models: ['gpt-a', 'gpt-b'] }],
      ['CodeEngineer', { type: 'default' }],
    ]);
  });
});
