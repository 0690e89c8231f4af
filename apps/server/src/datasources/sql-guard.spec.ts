import { checkReadOnly } from './sql-guard';

describe('checkReadOnly', () => {
  it('lets one read through, without its trailing semicolon', () => {
    expect(checkReadOnly('SELECT 1;', 'postgresql')).toEqual({ ok: true, sql: 'SELECT 1' });
    expect(checkReadOnly('WITH a AS (SELECT 1 AS x) SELECT x FROM a', 'mysql')).toEqual({
      ok: true,
      sql: 'WITH a AS (SELECT 1 AS x) SELECT x FROM a',
    });
    expect(checkReadOnly('SELECT a.n, b.n FROM nums a CROSS JOIN thousand b', 'sqlite').ok).toBe(true);
  });

  it.each([
    ['postgresql', 'DELETE FROM t', 'refused: only a read (SELECT or WITH … SELECT) may run, not DELETE'],
    ['postgresql', 'SELECT 1; SELECT 2', 'only one statement may run, the SQL has 2'],
    [
      'postgresql',
      "SELECT x FROM t WHERE y IN (SELECT nextval('s'))",
      'the function nextval() is not allowed (side effects or stalls)',
    ],
    ['postgresql', 'SELECT pg_catalog.pg_sleep(5)', 'the function pg_sleep() is not allowed (side effects or stalls)'],
    [
      'postgresql',
      "SELECT lo_import('/etc/passwd')",
      'the function lo_import() is not allowed (side effects or stalls)',
    ],
    ['postgresql', 'SELECT * INTO t2 FROM t', 'SELECT … INTO may not run (it writes)'],
    ['mysql', "SELECT * FROM t INTO OUTFILE '/tmp/x'", 'SELECT … INTO may not run (it writes)'],
    ['mysql', 'SELECT BENCHMARK(1000000, MD5(1))', 'the function benchmark() is not allowed (side effects or stalls)'],
    ['sqlite', "ATTACH DATABASE '/tmp/x' AS x", 'only a read (SELECT or WITH … SELECT) may run, not ATTACH'],
  ] as const)('%s: refuses %s', (type, sql, reason) => {
    expect(checkReadOnly(sql, type)).toEqual({ ok: false, reason: reason.replace(/^refused: /, '') });
  });

  it('refuses what it cannot parse, and empty SQL', () => {
    expect(checkReadOnly("COPY t TO PROGRAM 'id'", 'postgresql')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /^the SQL is not one statement Ensemble can verify as a read \(postgresql syntax\): /,
      ),
    });
    expect(checkReadOnly(' ; ', 'postgresql')).toEqual({ ok: false, reason: 'the SQL is empty' });
  });
});
