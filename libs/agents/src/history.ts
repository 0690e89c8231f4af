import type { HistoryTurn } from './types';

/**
 * Bounds the history by the app's `keep_start_rounds` / `keep_end_rounds`
 * (README, "Conversations and models"): the first `keepStart` turns and the last
 * `keepEnd` turns, in order, each turn at most once when the two ranges overlap. `0`/`0` keeps
 * every turn (the app set no bound); `keepStart` 0 alone keeps only the last
 * `keepEnd` turns, and the other way round. Negative or fractional counts are
 * read as their floor, at least 0.
 */
export function trimHistory<T = HistoryTurn>(turns: readonly T[], keepStart: number, keepEnd: number): T[] {
  const start = count(keepStart);
  const end = count(keepEnd);
  if ((start === 0 && end === 0) || start + end >= turns.length) return [...turns];
  return [...turns.slice(0, start), ...turns.slice(turns.length - end)];
}

function count(value: number): number {
  return Number.isFinite(value) ? Math.max(0, Math.floor(value)) : 0;
}
