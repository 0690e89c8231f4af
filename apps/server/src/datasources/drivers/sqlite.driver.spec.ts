import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDriver } from './sqlite.driver';

describe('SqliteDriver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ensemble-sqlite-'));
  const path = join(dir, 't.db');
  let driver: SqliteDriver;

  beforeAll(() => {
    const db = new Database(path);
    db.exec(`CREATE TABLE nums (n INTEGER);
      WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 10000) INSERT INTO nums SELECT n FROM g;
      CREATE TABLE thousand AS SELECT n FROM nums WHERE n <= 1000;`);
    db.close();
    driver = new SqliteDriver({ type: 'sqlite', host: '', port: 0, user: '', password: '', database: 'x', path });
  });
  afterAll(async () => {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the first rows of a huge result and stops counting at the time limit', async () => {
    const result = await driver.query('SELECT a.n AS a, b.n AS b FROM nums a CROSS JOIN thousand b', {
      timeoutMs: 300,
      maxRows: 5,
    });
    expect(result).toEqual({
      columns: ['a', 'b'],
      rows: [
        { a: 1, b: 1 },
        { a: 1, b: 2 },
        { a: 1, b: 3 },
        { a: 1, b: 4 },
        { a: 1, b: 5 },
      ],
      total: null,
      truncated: true,
    });
  });

  it('counts the rows beyond the cap when there is time', async () => {
    const result = await driver.query('SELECT n FROM thousand', { timeoutMs: 5000, maxRows: 2 });
    expect(result).toMatchObject({ rows: [{ n: 1 }, { n: 2 }], total: 1000, truncated: true });
  });

  it('ends a statement that computes without producing rows at the time limit', async () => {
    // Endless: only the time limit ends it.
    await expect(
      driver.query('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', {
        timeoutMs: 300,
        maxRows: 5,
      }),
    ).rejects.toThrow('the query was cancelled: it ran longer than the statement timeout (300 ms)');
  });

  it('keeps big integers exact and reports SQL errors', async () => {
    await expect(driver.query('SELECT 9007199254740993 AS big', { timeoutMs: 2000, maxRows: 5 })).resolves.toEqual({
      columns: ['big'],
      rows: [{ big: '9007199254740993' }],
      total: 1,
      truncated: false,
    });
    await expect(driver.query('SELECT * FROM nope', { timeoutMs: 2000, maxRows: 5 })).rejects.toThrow(
      'no such table: nope',
    );
  });

  it('refuses statements that write', async () => {
    await expect(driver.query('DELETE FROM nums', { timeoutMs: 1000, maxRows: 5 })).rejects.toThrow(
      'only a statement that returns rows may run',
    );
  });
});
