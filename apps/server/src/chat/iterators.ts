/**
 * Ends `it` early, as `for await` does when its loop is left: its own
 * `return` when it has one, otherwise the ended result it would give.
 */
export function endIterator<T>(it: AsyncIterator<T>, value?: unknown): Promise<IteratorResult<T>> {
  return it.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined });
}
