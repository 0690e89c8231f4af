import { SqlStatement } from './sql-statement';

describe('SqlStatement', () => {
  it('joins parts as CTEs, the last one the main statement', () => {
    const s = new SqlStatement();
    s.parts.push(`INSERT INTO a VALUES (${s.p(1)})`, `UPDATE b SET x = ${s.p('y')} WHERE id = ${s.p('k', '::uuid')}`);
    expect(s.sql).toBe('WITH w0 AS (INSERT INTO a VALUES ($1)) UPDATE b SET x = $2 WHERE id = $3::uuid');
    expect(s.params).toEqual([1, 'y', 'k']);
  });

  it('renumbers the placeholders of an appended statement, reused ones included', () => {
    const first = new SqlStatement();
    first.parts.push(`INSERT INTO a VALUES (${first.p('a1')}, ${first.p('a2')})`);
    const second = new SqlStatement();
    second.parts.push(`INSERT INTO c VALUES (${second.p('c1')})`, `INSERT INTO d VALUES ($1, ${second.p('d2')}, $10)`);

    first.append(second);

    expect(first.parts).toEqual([
      'INSERT INTO a VALUES ($1, $2)',
      'INSERT INTO c VALUES ($3)',
      'INSERT INTO d VALUES ($3, $4, $12)',
    ]);
    expect(first.params).toEqual(['a1', 'a2', 'c1', 'd2']);
    expect(second.parts[1]).toBe('INSERT INTO d VALUES ($1, $2, $10)');
  });
});
