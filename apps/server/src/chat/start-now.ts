import { Observable, Subscriber } from 'rxjs';

type Held<T> = { kind: 'next'; value: T } | { kind: 'error'; error: unknown } | { kind: 'complete' };

/**
 * Subscribes to `source` at once and holds what it emits until `output` is
 * subscribed (once): the run's LLM calls start while the request still
 * waits on something else (its database rows), and nothing is lost.
 * Unsubscribing `output`, or `stop()`, stops the source. `freeze` makes a
 * value that is held (not delivered at once) keep what it shows at that
 * moment, for values that read a state lazily.
 */
export function startNow<T>(
  source: Observable<T>,
  freeze: (value: T) => T = (value) => value,
): { output: Observable<T>; stop(): void } {
  const held: Held<T>[] = [];
  let target: Subscriber<T> | undefined;
  const deliver = (n: Held<T>, to: Subscriber<T>) =>
    n.kind === 'next' ? to.next(n.value) : n.kind === 'error' ? to.error(n.error) : to.complete();
  const hold = (n: Held<T>) => (target ? deliver(n, target) : held.push(n));
  const subscription = source.subscribe({
    next: (value) => hold({ kind: 'next', value: target ? value : freeze(value) }),
    error: (error: unknown) => hold({ kind: 'error', error }),
    complete: () => hold({ kind: 'complete' }),
  });
  const output = new Observable<T>((subscriber) => {
    if (target) throw new Error('startNow: output may be subscribed once');
    target = subscriber;
    for (const n of held.splice(0)) deliver(n, subscriber);
    return () => subscription.unsubscribe();
  });
  return { output, stop: () => subscription.unsubscribe() };
}
