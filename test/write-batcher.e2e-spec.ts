import { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { SqlStatement } from '../apps/server/src/database/sql-statement';
import { WriteBatcher, WriteBatcherOptions } from '../apps/server/src/database/write-batcher';
import { createTestDatabase, TestDatabase } from './support/database';

/** The batcher against a real, migrated database: rows, statements sent and failures. */
describe('WriteBatcher', () => {
  let db: TestDatabase;
  let pool: Pool;
  let sent: { sql: string; params: number }[];

  const batcher = (options: WriteBatcherOptions = {}) =>
    new WriteBatcher(async (sql, params) => {
      sent.push({ sql, params: params.length });
      await pool.query(sql, params);
    }, options);

  /** One conversation row, as a run's first write inserts it. */
  const insert = (convUid: string) => {
    const s = new SqlStatement();
    s.parts.push(
      `INSERT INTO conversations (conv_uid, chat_mode, title, state, turns) VALUES (${s.p(convUid)}, ${s.p('chat_normal')}, ${s.p('t')}, 'running', 1)`,
    );
    return s;
  };
  const count = async (ids: string[]) =>
    Number((await pool.query('SELECT count(*) AS n FROM conversations WHERE conv_uid = ANY($1)', [ids])).rows[0].n);

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 4 });
  });
  beforeEach(() => {
    sent = [];
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('sends a write at once while a slot is free', async () => {
    const id = randomUUID();
    const landed = batcher().write(insert(id));
    expect(sent).toHaveLength(1);
    await landed;
    expect(await count([id])).toBe(1);
  });

  it('merges the writes that waited into one statement, every row landing', async () => {
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const b = batcher({ maxInFlight: 1 });

    await Promise.all(ids.map((id) => b.write(insert(id))));

    expect(await count(ids)).toBe(40);
    // The first went alone; the 39 that waited for it went together.
    expect(sent.map((s) => s.params)).toEqual([3, 39 * 3]);
    expect(sent[1].sql).toMatch(/^WITH w0 AS \(INSERT INTO conversations/);
    expect(sent[1].sql).toContain('$117');
  });

  it('keeps a merged statement within maxParams', async () => {
    const ids = Array.from({ length: 25 }, () => randomUUID());
    const b = batcher({ maxInFlight: 1, maxParams: 30 });

    await Promise.all(ids.map((id) => b.write(insert(id))));

    expect(await count(ids)).toBe(25);
    expect(sent.map((s) => s.params)).toEqual([3, 30, 30, 12]);
  });

  it('fails only the bad write of a merged statement; the others land', async () => {
    const taken = randomUUID();
    await pool.query(
      `INSERT INTO conversations (conv_uid, chat_mode, title, state, turns) VALUES ($1, 'chat_normal', 't', 'complete', 1)`,
      [taken],
    );
    const ids = [randomUUID(), randomUUID(), taken, randomUUID(), randomUUID()];
    const b = batcher({ maxInFlight: 1 });

    const first = b.write(insert(randomUUID()));
    const results = await Promise.allSettled(ids.map((id) => b.write(insert(id))));
    await first;

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: '23505' });
    expect(await count(ids.filter((id) => id !== taken))).toBe(4);
    // first alone, the merged attempt, then each of the five alone
    expect(sent).toHaveLength(7);
  });
});
