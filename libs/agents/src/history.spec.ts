import { trimHistory } from './history';

const turns = (n: number) => Array.from({ length: n }, (_, i) => ({ user: `q${i + 1}`, assistant: `a${i + 1}` }));
const users = (list: { user: string }[]) => list.map((t) => t.user);

describe('trimHistory', () => {
  it('keeps the first keepStart and the last keepEnd turns, in order', () => {
    expect(users(trimHistory(turns(10), 2, 3))).toEqual(['q1', 'q2', 'q8', 'q9', 'q10']);
  });

  it('keeps every turn once when the ranges overlap or cover the history', () => {
    expect(users(trimHistory(turns(4), 3, 3))).toEqual(['q1', 'q2', 'q3', 'q4']);
    expect(users(trimHistory(turns(5), 2, 3))).toEqual(['q1', 'q2', 'q3', 'q4', 'q5']);
  });

  it('keeps everything for 0/0 (no bound set)', () => {
    expect(trimHistory(turns(7), 0, 0)).toHaveLength(7);
  });

  it('keeps only the end or only the start when the other bound is 0', () => {
    expect(users(trimHistory(turns(6), 0, 2))).toEqual(['q5', 'q6']);
    expect(users(trimHistory(turns(6), 2, 0))).toEqual(['q1', 'q2']);
  });

  it('reads negative and fractional bounds as their floor, at least 0', () => {
    expect(users(trimHistory(turns(6), -1, 1.9))).toEqual(['q6']);
    expect(trimHistory(turns(3), Number.NaN, -5)).toHaveLength(3);
  });

  it('handles an empty history and does not modify its input', () => {
    expect(trimHistory([], 1, 1)).toEqual([]);
    const input = turns(5);
    trimHistory(input, 1, 1);
    expect(input).toHaveLength(5);
  });
});
