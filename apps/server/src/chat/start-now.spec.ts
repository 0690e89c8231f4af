import { Subject } from 'rxjs';
import { startNow } from './start-now';

describe('startNow', () => {
  it('freezes values held before the output is subscribed, and only those', () => {
    const source = new Subject<{ read: () => number }>();
    let state = 0;
    const lazy = () => ({ read: () => state });
    const run = startNow(source, (v) => {
      const at = v.read();
      return { read: () => at };
    });
    state = 1;
    source.next(lazy());
    state = 2;
    source.next(lazy());
    state = 3;
    const seen: number[] = [];
    run.output.subscribe((v) => seen.push(v.read()));
    source.next(lazy());
    expect(seen).toEqual([1, 2, 3]);
    run.stop();
  });

  it('replays an error after the held values and stops the source when unsubscribed', () => {
    const source = new Subject<number>();
    const run = startNow(source);
    source.next(1);
    source.error(new Error('boom'));
    const seen: unknown[] = [];
    run.output.subscribe({ next: (v) => seen.push(v), error: (e: Error) => seen.push(e.message) });
    expect(seen).toEqual([1, 'boom']);
    const other = new Subject<number>();
    const second = startNow(other);
    second.output.subscribe().unsubscribe();
    expect(other.observed).toBe(false);
  });
});
