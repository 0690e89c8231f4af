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

/**
 * Bounds the history by size: while the turns hold more than `maxChars`
 * characters (user and assistant text), the oldest turn after the first is
 * dropped, so the opening turn and the latest turns stay, as with the
 * keep-rounds rule; when only the first and the last turns are left the
 * first goes, then the last. A turn is kept whole or not at all.
 */
export function capHistoryChars<T extends HistoryTurn>(turns: readonly T[], maxChars: number): T[] {
  const size = (t: HistoryTurn) => t.user.length + t.assistant.length;
  let total = turns.reduce((sum, t) => sum + size(t), 0);
  if (total <= maxChars) return [...turns];
  const kept = [...turns];
  while (total > maxChars && kept.length > 0) {
    // The oldest turn after the first while the middle lasts, then the first, then the last.
    const at = kept.length > 2 ? 1 : 0;
    total -= size(kept[at]);
    kept.splice(at, 1);
  }
  return kept;
}
