import { HttpStatus, Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';
import { InstanceLock } from '../conversations/instance-lock';
import type { LimitSubject } from './limit-key';
import { LimitsRepository } from './limits.repository';

/** Gives a run's slot back; calling it again does nothing. Never rejects (a failed release is retried). */
export type ReleaseRun = () => Promise<void>;

/** What an unlimited key waits for: nothing (one settled promise, shared). */
const NOTHING: Promise<void> = Promise.resolve();
/** The slot of an unlimited key: nothing to give back. */
const NO_SLOT: Promise<ReleaseRun> = Promise.resolve(() => NOTHING);

/** How often releases the database refused are retried. */
const RETRY_RELEASE_MS = 1000;
/** How often the slots of processes that are gone are looked for. */
const SWEEP_INTERVAL_MS = 30_000;

/**
 * Caps the chat runs one API key has in flight at once over every replica
 * (the key's `max_concurrent_runs`, else MAX_CONCURRENT_RUNS_PER_KEY; 0 =
 * unlimited), counted as rows of `run_slots` in the shared database. The
 * chat module calls `check` after validating a request, `acquire` once its
 * run is recorded and before starting it, and calls the returned function
 * exactly when the run ends (complete, failed or cancelled), e.g. in a
 * `finally`. A release the database refuses (an outage) is retried until
 * it lands; the slots of a process that died are freed by the replicas
 * still alive (it no longer holds its instance lock).
 */
@Injectable()
export class RunLimiter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RunLimiter');
  /** Slots whose release failed, retried every second. */
  private readonly unreleased = new Set<string>();
  private retryTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'maxConcurrentRunsPerKey'>,
    private readonly repo: LimitsRepository,
    private readonly lock: InstanceLock,
  ) {}

  onModuleInit(): void {
    this.retryTimer = setInterval(() => void this.retryReleases(), RETRY_RELEASE_MS);
    this.retryTimer.unref();
    this.sweepTimer = setInterval(() => void this.sweepDeadInstances(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.retryTimer);
    clearInterval(this.sweepTimer);
    await this.retryReleases();
  }

  /** The cap for `subject`: its key's own, else the server default; 0 = unlimited. */
  maxFor(subject: LimitSubject): number {
    return subject.maxConcurrentRuns ?? this.config.maxConcurrentRunsPerKey;
  }

  /**
   * Throws the same 429 as `acquire` when the key has no slot left, without
   * taking one: a request checks it before its work, and takes the slot
   * once that work (recording its run) is done.
   */
  check(subject: LimitSubject): Promise<void> {
    const max = this.maxFor(subject);
    if (max <= 0) return NOTHING;
    return this.repo.slotsHeld(subject.key).then((held) => {
      if (held >= max) throw this.refusal(subject, max);
    });
  }

  /**
   * Takes a slot for the key or throws ApiError 429 `too_many_runs` (with
   * `Retry-After: 1`) when the key already has its cap of runs in flight
   * on any replica.
   */
  acquire(subject: LimitSubject): Promise<ReleaseRun> {
    const max = this.maxFor(subject);
    return max <= 0 ? NO_SLOT : this.take(subject, max);
  }

  private async take(subject: LimitSubject, max: number): Promise<ReleaseRun> {
    const slotId = randomUUID();
    if (!(await this.repo.takeSlot(subject.key, slotId, this.lock.instanceId, max))) {
      throw this.refusal(subject, max);
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      try {
        await this.repo.releaseSlots([slotId]);
      } catch (e) {
        this.unreleased.add(slotId);
        this.logger.warn(`Could not give a run slot back (retried every second): ${(e as Error).message}`);
      }
    };
  }

  private refusal(subject: LimitSubject, max: number): ApiError {
    const source =
      subject.maxConcurrentRuns === null ? 'MAX_CONCURRENT_RUNS_PER_KEY' : "this key's max_concurrent_runs";
    return new ApiError(
      HttpStatus.TOO_MANY_REQUESTS,
      'too_many_runs',
      `Too many concurrent runs for this API key (limit ${max}, ${source}); retry when one finishes.`,
      null,
      { 'Retry-After': '1' },
    );
  }

  private async retryReleases(): Promise<void> {
    if (this.unreleased.size === 0) return;
    const ids = [...this.unreleased];
    try {
      await this.repo.releaseSlots(ids);
      ids.forEach((id) => this.unreleased.delete(id));
    } catch {
      // Still down: the next tick tries again.
    }
  }

  /** Frees the slots of processes that are gone (their instance lock is free, and stays free for its grace). */
  async sweepDeadInstances(): Promise<void> {
    try {
      const holders = await this.repo.slotHolders(this.lock.instanceId);
      const dead = await Promise.all(holders.map((id) => this.lock.isDead(id)));
      for (const [i, id] of holders.entries()) {
        if (!dead[i]) continue;
        const n = await this.repo.releaseInstanceSlots(id);
        if (n) this.logger.warn(`Freed ${n} run slot(s) of a stopped server`);
      }
    } catch (e) {
      this.logger.warn(`Could not look for the run slots of stopped servers: ${(e as Error).message}`);
    }
  }
}
