/**
 * `promise`'s outcome, or a rejection with `late()` when it has not settled
 * within `ms`. The work itself goes on: whoever started it cleans up.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  return raceTimer(promise, ms, (_, reject) => reject(late()));
}

/**
 * `promise`'s value, or `undefined` when it has not settled within `ms` (its
 * rejection when it fails in time). The work itself goes on.
 */
export function valueWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return raceTimer<T | undefined>(promise, ms, (resolve) => resolve(undefined));
}

/** `promise` raced against a timer of `ms` that settles with `onLate`; the timer is cleared either way. */
function raceTimer<T>(
  promise: Promise<T>,
  ms: number,
  onLate: (resolve: (value: T) => void, reject: (reason: Error) => void) => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => onLate(resolve, reject), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
