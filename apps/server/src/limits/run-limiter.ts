import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';

/** Releases a run's slot; calling it again does nothing. */
export type ReleaseRun = () => void;

/**
 * Caps the chat runs one API key has in flight at once on this replica
 * (MAX_CONCURRENT_RUNS_PER_KEY; 0 = unlimited). The chat module calls
 * `check(limitKey(req))` after validating a request, `acquire` once its run
 * is recorded and before starting it, and calls the returned function exactly when the run ends
 * (complete, failed or cancelled), e.g. in a `finally`.
 */
@Injectable()
export class RunLimiter {
  private readonly active = new Map<string, number>();
  /** 0 = unlimited. */
  readonly max: number;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'maxConcurrentRunsPerKey'>) {
    this.max = config.maxConcurrentRunsPerKey;
  }

  /**
   * Takes a slot for `key` or throws ApiError 429 `too_many_runs` (with
   * `Retry-After: 1`) when the key already has `max` runs in flight.
   */
  acquire(key: string): ReleaseRun {
    this.check(key);
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.active.get(key) ?? 1) - 1;
      if (left > 0) this.active.set(key, left);
      else this.active.delete(key);
    };
  }

  /**
   * Throws the same 429 as `acquire` when `key` has no slot left, without
   * taking one: a request checks it before its work, and takes the slot
   * once that work (recording its run) is done.
   */
  check(key: string): void {
    if (this.max > 0 && (this.active.get(key) ?? 0) >= this.max) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'too_many_runs',
        `Too many concurrent runs for this API key (limit ${this.max}, MAX_CONCURRENT_RUNS_PER_KEY); retry when one finishes.`,
        null,
        { 'Retry-After': '1' },
      );
    }
  }

  /** Runs in flight for `key`. */
  inFlight(key: string): number {
    return this.active.get(key) ?? 0;
  }

  /** Runs in flight over all keys. */
  get total(): number {
    let sum = 0;
    for (const n of this.active.values()) sum += n;
    return sum;
  }
}
