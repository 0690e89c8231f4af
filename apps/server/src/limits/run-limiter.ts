import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';

/** Releases a run's slot; calling it again does nothing. */
export type ReleaseRun = () => void;

/**
 * Caps the chat runs one API key has in flight at once on this replica
 * (MAX_CONCURRENT_RUNS_PER_KEY; 0 = unlimited). The chat module calls
 * `acquire(limitKey(req))` after validating a request and before starting
 * the run, and calls the returned function exactly when the run ends
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
    const current = this.active.get(key) ?? 0;
    if (this.max > 0 && current >= this.max) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'too_many_runs',
        `Too many concurrent runs for this API key (limit ${this.max}, MAX_CONCURRENT_RUNS_PER_KEY); retry when one finishes.`,
        null,
        { 'Retry-After': '1' },
      );
    }
    this.active.set(key, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.active.get(key) ?? 1) - 1;
      if (left > 0) this.active.set(key, left);
      else this.active.delete(key);
    };
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
