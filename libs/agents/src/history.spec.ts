import { capHistoryChars, trimHistory } from './history';

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

describe('capHistoryChars', () => {
  const sized = (n: number, each: number) =>
    Array.from({ length: n }, (_, i) => ({
      user: `q${i + 1}`.padEnd(each / 2, '.'),
      assistant: ''.padEnd(each / 2, '.'),
    }));
  const names = (list: { user: string }[]) => list.map((t) => t.user.replace(/\.+$/, ''));

  it('keeps everything within the cap', () => {
    expect(capHistoryChars(sized(5, 100), 500)).toHaveLength(5);
  });

  it('drops the middle first: the first turn and the latest turns stay', () => {
    expect(names(capHistoryChars(sized(10, 100), 450))).toEqual(['q1', 'q8', 'q9', 'q10']);
  });

  it('then drops the first turn, then the last, and never keeps part of a turn', () => {
    expect(names(capHistoryChars(sized(3, 100), 150))).toEqual(['q3']);
    expect(capHistoryChars(sized(3, 100), 99)).toEqual([]);
  });

  it('does not modify its input', () => {
    const input = sized(6, 100);
    capHistoryChars(input, 100);
    expect(input).toHaveLength(6);
  });
});
