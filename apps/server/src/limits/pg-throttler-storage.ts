import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { LimitsRepository } from './limits.repository';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** How often ended windows are deleted, and at most how many per sweep (the table stays small and the sweep short). */
const SWEEP_INTERVAL_MS = 60_000;
const SWEEP_MAX_ROWS = 10_000;

/**
 * The throttler's counts in Postgres, shared by every replica: per key, a
 * fixed window of `ttl` ms from its first request (as the throttler's
 * in-memory storage counts), one upsert per request returning the
 * window's count and end. A request over the limit is refused until its
 * window ends (the window is the block). A replica deletes ended windows
 * every minute, a bounded batch at a time.
 */
@Injectable()
export class PgThrottlerStorage implements ThrottlerStorage, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RateLimit');
  private timer?: NodeJS.Timeout;

  constructor(private readonly repo: LimitsRepository) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const { hits, msLeft } = await this.repo.hit(key, ttl);
    const secondsLeft = Math.max(1, Math.ceil(msLeft / 1000));
    const isBlocked = hits > limit;
    return { totalHits: hits, timeToExpire: secondsLeft, isBlocked, timeToBlockExpire: isBlocked ? secondsLeft : 0 };
  }

  private async sweep(): Promise<void> {
    try {
      await this.repo.deleteEndedWindows(SWEEP_MAX_ROWS);
    } catch (e) {
      this.logger.warn(`Could not delete ended rate-limit windows: ${(e as Error).message}`);
    }
  }
}
