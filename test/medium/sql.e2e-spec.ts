import { DataSource, QueryFailedError } from 'typeorm';
import { dataSourceOptions } from '../../apps/server/src/database/data-source';
import { isDatabaseUnavailable } from '../../apps/server/src/database/db-errors';
import { PgPool } from '../../apps/server/src/database/pg-pool';
import { MAX_NAMED_STATEMENTS, PgCode, pgError, Sql, statementName } from '../../apps/server/src/database/sql';
import { createTestDatabase, TestDatabase } from '../support/database';

/** Sql on the pool TypeORM makes through PgPool's driver, on a real Postgres database. */
describe('Sql on the shared pg pool (real Postgres)', () => {
  let db: TestDatabase;
  let pg: PgPool;
  let ds: DataSource;
  let sql: Sql;

  beforeAll(async () => {
    db = await createTestDatabase();
    pg = new PgPool();
    sql = new Sql(pg);
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db.drop();
  });

  it('is unavailable (503, not a 500) until the data source has made the pool', async () => {
    const e = await sql.query('SELECT 1').catch((err: unknown) => err);
    expect(isDatabaseUnavailable(e)).toBe(true);
  });

  it('runs on the very pool TypeORM uses: with a pool of one, both are served by the same connection', async () => {
    ds = await new DataSource(dataSourceOptions(db.url, 1, undefined, pg.driver)).initialize();
    const [viaTypeorm] = await ds.query<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
    const [viaSql] = await sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(viaSql.pid).toBe(viaTypeorm.pid);
    expect(pg.pool.totalCount).toBe(1);
  });

  it('rolls a transaction back when its work throws, and hands the connection back', async () => {
    await sql.query('CREATE TABLE t (v text NOT NULL UNIQUE)');
    const boom = new Error('boom');
    await expect(
      sql.transaction(async (query) => {
        await query('INSERT INTO t VALUES ($1)', ['a']);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await sql.query('SELECT v FROM t')).toEqual([]);
    await sql.transaction((query) => query('INSERT INTO t VALUES ($1)', ['b']));
    expect(await sql.query('SELECT v FROM t')).toEqual([{ v: 'b' }]);
    expect(pg.pool.idleCount).toBe(1);
  });

  it('rejects a failed statement with QueryFailedError and its SQLSTATE, in and out of a transaction', async () => {
    const single = await sql.query('INSERT INTO t VALUES ($1)', ['b']).catch((e: unknown) => e);
    const inTx = await sql
      .transaction((query) => query('INSERT INTO t VALUES ($1)', ['a\u0000']))
      .catch((e: unknown) => e);
    expect(single).toBeInstanceOf(QueryFailedError);
    expect(pgError(single)?.code).toBe(PgCode.UniqueViolation);
    expect(pgError(inTx)?.code).toBe(PgCode.CharacterNotInRepertoire);
    expect(await sql.query('SELECT v FROM t')).toEqual([{ v: 'b' }]);
  });

  it('prepares a statement once per connection by its text, and runs it again with other values', async () => {
    const text = 'SELECT count(*)::int AS n FROM t WHERE v = $1';
    const find = (v: string) => sql.prepared<{ n: number }>(text, [v]);
    expect(await find('b')).toEqual([{ n: 1 }]);
    expect(await find('zz')).toEqual([{ n: 0 }]);
    // The pool has one connection: the server holds the statement under one name, prepared once.
    const held = await sql.query<{ name: string; statement: string }>(
      'SELECT name, statement FROM pg_prepared_statements',
    );
    expect(held).toEqual([{ name: expect.stringMatching(/^ens_[0-9a-f]{24}$/), statement: text }]);
  });

  it(`names at most ${MAX_NAMED_STATEMENTS} texts; later ones run unnamed`, async () => {
    for (let i = 0; i < MAX_NAMED_STATEMENTS + 20; i++)
      expect(await sql.prepared<{ n: number }>(`SELECT ${i}::int AS n`)).toEqual([{ n: i }]);
    const [{ n }] = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements');
    expect(n).toBe(MAX_NAMED_STATEMENTS);
  });

  it('runs a statement unnamed when the session already holds its name (42P05), and names none after', async () => {
    // One session shared by connections (the embedded database) holds names other connections prepared.
    const fresh = new Sql(pg);
    const text = 'SELECT 4242::int AS n';
    await sql.query(`PREPARE ${statementName(text)} AS SELECT 0::int AS n`);
    expect(await fresh.prepared<{ n: number }>(text)).toEqual([{ n: 4242 }]);
    expect(await fresh.prepared<{ n: number }>('SELECT 4343::int AS n')).toEqual([{ n: 4343 }]);
    const held = await sql.query<{ statement: string }>(
      `SELECT statement FROM pg_prepared_statements WHERE statement IN ('SELECT 4242::int AS n', 'SELECT 4343::int AS n')`,
    );
    expect(held).toEqual([]);
  });

  it('is unavailable once the data source has ended the pool', async () => {
    await ds.destroy();
    const e = await sql.query('SELECT 1').catch((err: unknown) => err);
    expect(isDatabaseUnavailable(e)).toBe(true);
  });
});
