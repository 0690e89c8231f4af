import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { valueWithin } from '../common/deadline';
import { APP_CONFIG, AppConfig } from '../config/config';

/** After the grace period, how long cancelled runs get to record their end before shutdown goes on. */
const ABORT_WAIT_MS = 5000;

interface ActiveRun {
  controller: AbortController;
  done: Promise<void>;
}

/** How long a cancel that found no run here is kept for a run recorded before it and not yet registered. */
const UNCLAIMED_CANCEL_MS = 60_000;

/**
 * The runs this process is serving, by conv_uid, so an explicit cancel or a
 * shutdown can abort them. Cancels for runs on other replicas arrive through
 * the CancelBus (Postgres LISTEN/NOTIFY), which calls `abortLocal`.
 */
@Injectable()
export class RunRegistry implements BeforeApplicationShutdown {
  private readonly runs = new Map<string, ActiveRun>();
  /** Cancels that found no run here, by conv_uid: when they came and why. */
  private readonly unclaimed = new Map<string, { at: number; reason: string }>();
  private readonly logger = new Logger('Shutdown');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /**
   * Graceful shutdown, before the database closes (the server stopped
   * accepting connections already, see `closeServer`): let open runs finish
   * for SHUTDOWN_GRACE_MS, then cancel the rest (their runs are stored
   * `cancelled`).
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.runs.size)
      this.logger.log(`Waiting up to ${this.config.shutdownGraceMs} ms for ${this.runs.size} open run(s)`);
    const cancelled = await this.drain(this.config.shutdownGraceMs);
    if (cancelled) this.logger.warn(`Cancelled ${cancelled} run(s) still open after the grace period`);
  }

  /**
   * Registers a run; returns a function to call once it has ended.
   * `recordedAt`: when the run's row began to be written. A run is shown
   * `running` from then on, so a cancel may reach this replica before the
   * run is registered: one that came since then aborts it at once.
   */
  add(convUid: string, controller: AbortController, recordedAt: number): () => void {
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    this.runs.set(convUid, { controller, done });
    const early = this.unclaimed.get(convUid);
    this.unclaimed.delete(convUid);
    if (early && early.at >= recordedAt) controller.abort(early.reason);
    return () => {
      if (this.runs.get(convUid)?.controller === controller) this.runs.delete(convUid);
      settle();
    };
  }

  /**
   * Aborts the local run of a conversation; false when none is running
   * here. That cancel is then kept for a while, for a run of the
   * conversation recorded before it but not registered yet (see `add`).
   */
  abortLocal(convUid: string, reason: string): boolean {
    const run = this.runs.get(convUid);
    if (run) {
      run.controller.abort(reason);
      return true;
    }
    const now = Date.now();
    // Oldest first (a Map keeps insertion order): drop what is too old to concern a run still starting.
    for (const [uid, { at }] of this.unclaimed) {
      if (now - at < UNCLAIMED_CANCEL_MS) break;
      this.unclaimed.delete(uid);
    }
    this.unclaimed.delete(convUid);
    this.unclaimed.set(convUid, { at: now, reason });
    return false;
  }

  /**
   * Waits up to `graceMs` for runs to end, then aborts the rest and waits
   * (at most ABORT_WAIT_MS more, whatever state they are in) for them to
   * record their end.
   */
  async drain(graceMs: number): Promise<number> {
    const pending = () => [...this.runs.values()];
    if (pending().length) await valueWithin(Promise.all(pending().map((r) => r.done)), graceMs);
    const left = pending();
    for (const run of left) run.controller.abort('The server stopped before this run ended.');
    if (left.length && !(await valueWithin(Promise.all(left.map((r) => r.done)), ABORT_WAIT_MS)))
      this.logger.warn(`${this.runs.size} run(s) did not end within ${ABORT_WAIT_MS} ms of being cancelled`);
    return left.length;
  }
}
