import { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../apps/server/src/common/api-error';
import { DomainError, DomainErrorKind } from '../../apps/server/src/common/domain-error';
import { ConversationsService, StartRun, Viewer } from '../../apps/server/src/conversations/conversations.service';
import type { InstanceLock } from '../../apps/server/src/conversations/instance-lock';
import { RunsRepository } from '../../apps/server/src/conversations/runs.repository';
import { PgPool } from '../../apps/server/src/database/pg-pool';
import { Sql } from '../../apps/server/src/database/sql';
import { createTestDatabase, TestDatabase } from '../support/database';

/**
 * ConversationsService and RunRecorder on the real RunsRepository and a real
 * Postgres database; the instance lock is replaced (this process's id, and
 * which other processes count as gone).
 */
describe('ConversationsService with RunsRepository (real Postgres)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let service: ConversationsService;
  const deadInstances = new Set<string>();
  const lock = {
    instanceId: randomUUID(),
    isDead: (id: string) => Promise.resolve(deadInstances.has(id)),
  } as unknown as InstanceLock;

  const alice: Viewer = { keyId: 'key-alice', admin: false };
  const bob: Viewer = { keyId: 'key-bob', admin: false };
  const admin: Viewer = { keyId: 'key-admin', admin: true };
  const turn = (over: Partial<StartRun> = {}): StartRun => ({
    convUid: randomUUID(),
    ownerKey: alice.keyId,
    chatMode: 'chat_normal',
    appCode: null,
    chatParam: null,
    teamMode: null,
    userName: 'alice',
    sysCode: null,
    input: 'hello',
    model: 'gpt-a',
    ...over,
  });
  const rows = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows;
  const rejection = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e,
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 4 });
    service = new ConversationsService(new RunsRepository(new Sql(new PgPool(pool))), lock);
  });
  afterAll(async () => {
    service.onApplicationShutdown();
    await pool.end();
    await db.drop();
  });
  beforeEach(() => rows('TRUNCATE conversations CASCADE'));

  it('records a fresh chat_normal turn: conversation, run, messages, usage, as get() shows it', async () => {
    const t = turn({ input: `${'x'.repeat(250)}` });
    const recorder = service.openFresh(t);
    await recorder.opened;
    recorder.message({
      round: 1,
      stepNum: null,
      sender: 'Human',
      receiver: 'AI',
      model: null,
      content: t.input,
      success: true,
    });
    recorder.message({
      round: 1,
      stepNum: null,
      sender: 'AI',
      receiver: 'Human',
      model: 'gpt-a',
      content: 'hi',
      success: true,
      usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 },
      resource: { refs: [1] },
    });
    recorder.end({ state: 'complete', answer: 'hi', usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 } });
    await recorder.flush();

    const conv = await service.get(t.convUid, alice);
    expect(conv).toMatchObject({
      conv_uid: t.convUid,
      key_id: alice.keyId,
      chat_mode: 'chat_normal',
      user_name: 'alice',
      title: 'x'.repeat(200),
      state: 'complete',
      turn_count: 1,
    });
    expect(conv.turns).toHaveLength(1);
    expect(conv.turns[0]).toMatchObject({
      run_id: recorder.runId,
      turn: 1,
      model: 'gpt-a',
      input: t.input,
      answer: 'hi',
      state: 'complete',
      error: null,
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      plan_steps: [],
    });
    expect(conv.turns[0].finished_at).toEqual(expect.any(String));
    expect(conv.turns[0].messages.map((m) => [m.sender, m.resource, m.usage.total_tokens])).toEqual([
      ['Human', null, 0],
      ['AI', { refs: [1] }, 5],
    ]);
  });

  it('continues a conversation turn by turn, and refuses a busy, foreign or mismatched one', async () => {
    const t = turn();
    const first = await service.startRun(t, alice);
    expect(await rejection(service.startRun({ ...t, input: 'again' }, alice)).then((e) => (e as ApiError).code)).toBe(
      'conversation_busy',
    );
    first.end({ state: 'complete', answer: 'a1' });
    await first.flush();

    // Another key: not found to a non-admin key, a conflict to an admin key.
    const foreign = (await rejection(service.startRun({ ...t, ownerKey: bob.keyId }, bob))) as ApiError;
    expect([foreign.getStatus(), foreign.code]).toEqual([404, 'conversation_not_found']);
    const byAdmin = (await rejection(service.startRun({ ...t, ownerKey: admin.keyId }, admin))) as ApiError;
    expect([byAdmin.getStatus(), byAdmin.code]).toEqual([409, 'conversation_conflict']);
    const otherUser = (await rejection(service.startRun({ ...t, userName: 'eve' }, alice))) as ApiError;
    expect([otherUser.code, otherUser.param]).toEqual(['conversation_conflict', 'user_name']);
    const otherMode = (await rejection(
      service.startRun({ ...t, chatMode: 'chat_app', appCode: 'a' }, alice),
    )) as ApiError;
    expect(otherMode.message).toContain('belongs to chat_normal');

    const second = await service.startRun({ ...t, input: 'q2' }, alice);
    second.end({ state: 'complete', answer: 'a2' });
    await second.flush();

    expect(await service.history(t.convUid)).toEqual([
      { user: 'hello', assistant: 'a1' },
      { user: 'q2', assistant: 'a2' },
    ]);
    const conv = await service.get(t.convUid, alice);
    expect([conv.turn_count, conv.title, conv.turns.map((r) => r.turn)]).toEqual([2, 'hello', [1, 2]]);
    // Refused attempts left no rows.
    expect(await rows('SELECT count(*)::int AS n FROM conversation_runs WHERE conv_uid = $1', [t.convUid])).toEqual([
      { n: 2 },
    ]);
  });

  it('stores a team run: plan, step changes, and a failed end failing the steps still open', async () => {
    const t = turn({ chatMode: 'chat_app', appCode: 'team', teamMode: 'auto_plan' });
    const recorder = await service.startRun(t, alice);
    const steps = [1, 2, 3].map((num) => ({
      num,
      title: `step ${num}`,
      agent: 'AI Assistant',
      rely: num > 1 ? [num - 1] : [],
    }));
    recorder.record({ type: 'plan-made', steps } as never);
    recorder.record({ type: 'step-started', num: 1 } as never);
    recorder.record({ type: 'step-done', num: 1, result: 'one' } as never);
    recorder.record({ type: 'step-started', num: 2 } as never);
    recorder.record({ type: 'step-failed', num: 2, willRetry: true, retry: 0, reason: 'bad json' } as never);
    recorder.end({ state: 'failed', error: 'gave up' });
    await recorder.flush();

    const [run] = (await service.get(t.convUid, alice)).turns;
    expect(run).toMatchObject({ state: 'failed', error: 'gave up', team_mode: 'auto_plan' });
    expect(run.plan_steps.map((s) => [s.num, s.state, s.retries, s.result, s.error, s.rely])).toEqual([
      [1, 'complete', 0, 'one', null, []],
      [2, 'failed', 1, null, 'bad json', [1]],
      [3, 'failed', 0, null, null, [2]],
    ]);
    expect((await service.get(t.convUid, alice)).state).toBe('failed');
  });

  it('refuses text Postgres cannot store as bad input, writing nothing', async () => {
    const fresh = turn({ input: 'a\u0000b' });
    const e1 = await rejection(service.openFresh(fresh).opened);
    const e2 = await rejection(service.startRun(turn({ input: 'a\u0000b' }), alice));
    for (const e of [e1, e2]) {
      expect(e).toBeInstanceOf(DomainError);
      expect([(e as DomainError).kind, (e as DomainError).code]).toEqual([
        DomainErrorKind.BadInput,
        'validation_error',
      ]);
    }
    expect(await rows('SELECT count(*)::int AS n FROM conversations')).toEqual([{ n: 0 }]);
  });

  it('lists a key its own conversations, an admin every one, paged with totals', async () => {
    for (let i = 0; i < 3; i++) await (await service.startRun(turn({ userName: `u${i}` }), alice)).flush();
    await (await service.startRun(turn({ ownerKey: bob.keyId }), bob)).flush();
    const q = { page: 1, page_size: 2 };

    const mine = await service.list(q, alice);
    expect([mine.conversations.length, mine.total_count, mine.total_page]).toEqual([2, 3, 2]);
    expect(mine.conversations.every((c) => c.key_id === alice.keyId)).toBe(true);
    const page2 = await service.list({ ...q, page: 2 }, alice);
    expect([page2.conversations.length, page2.total_count]).toEqual([1, 3]);
    expect(new Set([...mine.conversations, ...page2.conversations].map((c) => c.conv_uid)).size).toBe(3);
    expect((await service.list({ ...q, page_size: 10 }, admin)).total_count).toBe(4);
    expect((await service.list({ ...q, key_id: bob.keyId }, admin)).total_count).toBe(1);
    expect((await service.list({ ...q, user_name: 'u1' }, alice)).total_count).toBe(1);
    expect((await service.list({ ...q, user_name: 'u1' }, bob)).total_count).toBe(0);
  });

  it("removes a finished conversation with its rows; refuses a running or another key's one", async () => {
    const t = turn();
    const recorder = await service.startRun(t, alice);
    expect(((await rejection(service.remove(t.convUid, alice))) as ApiError).code).toBe('conversation_busy');
    expect(((await rejection(service.remove(t.convUid, bob))) as ApiError).code).toBe('conversation_not_found');
    expect(await service.state(t.convUid, alice)).toBe('running');
    expect(await service.state(t.convUid, bob)).toBeUndefined();
    recorder.end({ state: 'complete', answer: 'done' });
    await recorder.flush();

    await service.remove(t.convUid, admin);
    expect(await service.state(t.convUid, alice)).toBeUndefined();
    expect(await rows('SELECT count(*)::int AS n FROM conversation_runs')).toEqual([{ n: 0 }]);
  });

  it("at boot fails the runs of a process that is gone, with their steps and conversations; a live one's are kept", async () => {
    const gone = randomUUID();
    const live = randomUUID();
    deadInstances.add(gone);
    const insert = async (convUid: string, instance: string) => {
      const runId = randomUUID();
      await rows(
        `INSERT INTO conversations (conv_uid, chat_mode, title, state, turns, owner_key) VALUES ($1, 'chat_normal', 't', 'running', 1, $2)`,
        [convUid, alice.keyId],
      );
      await rows(
        `INSERT INTO conversation_runs (id, conv_uid, turn, chat_mode, input, state, instance_id) VALUES ($1, $2, 1, 'chat_normal', 'q', 'running', $3)`,
        [runId, convUid, instance],
      );
      await rows(
        `INSERT INTO conversation_plan_steps (run_id, num, title, agent, state) VALUES ($1, 1, 's', 'a', 'running'), ($1, 2, 's', 'a', 'complete')`,
        [runId],
      );
    };
    await insert('c-gone', gone);
    await insert('c-live', live);

    await service.onApplicationBootstrap();

    expect(await rows(`SELECT conv_uid, state FROM conversations ORDER BY conv_uid`)).toEqual([
      { conv_uid: 'c-gone', state: 'failed' },
      { conv_uid: 'c-live', state: 'running' },
    ]);
    expect(
      await rows(
        `SELECT r.conv_uid, r.state, r.error, r.finished_at IS NOT NULL AS finished FROM conversation_runs r ORDER BY 1`,
      ),
    ).toEqual([
      { conv_uid: 'c-gone', state: 'failed', error: 'The server stopped before this run ended.', finished: true },
      { conv_uid: 'c-live', state: 'running', error: null, finished: false },
    ]);
    expect(
      await rows(
        `SELECT r.conv_uid, s.num, s.state FROM conversation_plan_steps s JOIN conversation_runs r ON r.id = s.run_id ORDER BY 1, 2`,
      ),
    ).toEqual([
      { conv_uid: 'c-gone', num: 1, state: 'failed' },
      { conv_uid: 'c-gone', num: 2, state: 'complete' },
      { conv_uid: 'c-live', num: 1, state: 'running' },
      { conv_uid: 'c-live', num: 2, state: 'complete' },
    ]);
  });
});
