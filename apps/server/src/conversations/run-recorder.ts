import { Logger } from '@nestjs/common';
import type { TeamEvent } from '@ensemble/agents';
import { isDatabaseUnavailable } from '../database/db-errors';
import type { MessageRecord, RunEnd, RunState, RunWrite } from './runs.repository';

export type { MessageRecord, RunEnd } from './runs.repository';

/** Where a recorder's writes go (`RunsRepository`). */
export interface RunWrites {
  write(runId: string, convUid: string, batch: RunWrite[]): Promise<void>;
}

/** Waits before each new attempt of a write the database could not take (about 3 s in all). */
const RETRY_DELAYS_MS = [100, 200, 400, 800, 1600];

/**
 * Writes one run's rows as its events happen, in order, off the token hot
 * path: tokens are never written, each message, step change and the end
 * are. Writes are chained so they land in event order; a failed write is
 * logged and does not break the stream. `flush()` resolves when all landed.
 *
 * Writes queued while an earlier one is in flight (a burst of team events,
 * or chat_normal's message and end) go out together as one statement
 * (`RunsRepository.write`): one round trip and one commit instead of one each.
 * A batch never holds two writes that depend on each other inside one
 * statement (a step update after the insert of its plan, the end of a
 * failed run after step updates): such a write starts the next statement.
 * Two updates of the same step in a batch are merged, later values winning,
 * which leaves the row as applying both in turn would. When a batched
 * statement fails nothing of it landed, and its writes are replayed one by
 * one, so a bad write still only loses itself.
 */
export class RunRecorder {
  private chain: Promise<void> = Promise.resolve();
  private readonly queue: RunWrite[] = [];
  private draining = false;
  private ended = false;
  private finalState: Exclude<RunState, 'running'> | undefined;
  private lost?: Error;
  private readonly logger = new Logger('RunRecorder');

  /**
   * `opened` resolves once the run's own row exists (written by the caller,
   * possibly while the run already works); writes wait for it, and are
   * dropped if it fails (the request reports that failure).
   */
  constructor(
    /** Writes a batch in one statement (`RunsRepository.write`). */
    private readonly writes: RunWrites,
    readonly runId: string,
    readonly convUid: string,
    readonly opened: Promise<void> = Promise.resolve(),
    /** Called once if the run's rows could not be written because the database was unavailable. */
    private readonly unrecorded: (recorder: RunRecorder) => void = () => undefined,
  ) {}

  /** Records a team event (tokens and message starts are ignored). */
  record(event: TeamEvent): void {
    switch (event.type) {
      case 'plan-made':
        return this.enqueue({
          kind: 'plan',
          steps: event.steps.map((s) => ({ num: s.num, title: s.title, agent: s.agent, rely: s.rely })),
        });
      case 'step-started':
        return this.enqueue({ kind: 'step', num: event.num, set: { state: 'running' } });
      case 'message-done':
        return this.message({
          round: event.round,
          stepNum: event.num,
          sender: event.sender,
          receiver: event.receiver,
          model: event.model,
          content: event.content,
          success: event.success,
          usage: event.usage,
          resource: event.resource,
        });
      case 'tool-call-done':
        // A tool call is stored as a message of its own: the vis-plugin block the stream showed.
        return this.message({
          round: event.round,
          stepNum: event.num,
          sender: event.agent,
          receiver: event.receiver,
          model: null,
          content: visPluginBlock(event),
          success: event.status === 'complete',
        });
      case 'step-done':
        return this.enqueue({ kind: 'step', num: event.num, set: { state: 'complete', result: event.result } });
      case 'step-failed':
        return this.enqueue({
          kind: 'step',
          num: event.num,
          set: { state: event.willRetry ? 'running' : 'failed', retries: event.retry + 1, error: event.reason },
        });
      case 'run-done':
        return this.end({ state: 'complete', answer: event.answer, usage: event.usage });
      case 'run-failed':
        return this.end({ state: 'failed', error: event.reason, usage: event.usage });
      case 'run-cancelled':
        return this.end({ state: 'cancelled', error: 'Cancelled before the run ended.', usage: event.usage });
      default:
        return;
    }
  }

  message(m: MessageRecord): void {
    this.enqueue({ kind: 'message', message: m });
  }

  /** Ends the run once (later calls are ignored): run row, open steps, the conversation's state. */
  end(end: RunEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.finalState = end.state;
    this.enqueue({ kind: 'end', end });
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  /** How the run ended (`failed` when its rows were lost); `cancelled` until it has. */
  get state(): Exclude<RunState, 'running'> {
    if (this.lost) return 'failed';
    return this.finalState ?? 'cancelled';
  }

  /**
   * Resolves once every write so far has landed (or failed on its own and
   * been logged); rejects when the database lost the run's rows.
   */
  flush(): Promise<void> {
    return this.chain.then(() => {
      if (this.lost) throw this.lost;
    });
  }

  private enqueue(write: RunWrite): void {
    if (this.lost) return;
    this.queue.push(write);
    if (this.draining) return;
    this.draining = true;
    this.chain = this.drain();
  }

  /** Writes batches until the queue is empty; writes queued meanwhile join the next batch. */
  private async drain(): Promise<void> {
    // Writes queued meanwhile (at least those of the same tick: a message and the end) share a statement.
    try {
      await this.opened;
    } catch (e) {
      this.queue.length = 0;
      this.draining = false;
      // The run's row may have landed with the answer lost on the way back: have it marked failed.
      if (isDatabaseUnavailable(e)) this.lose(e);
      return;
    }
    try {
      while (this.queue.length > 0 && !this.lost) await this.write(this.nextBatch());
    } catch (e) {
      this.queue.length = 0;
      this.failed(e);
    } finally {
      this.draining = false;
    }
  }

  /** Takes the longest prefix of the queue that one statement can hold (see the class comment). */
  private nextBatch(): RunWrite[] {
    const batch: RunWrite[] = [];
    const steps = new Map<number, RunWrite & { kind: 'step' }>();
    let plan = false;
    let end = false;
    while (this.queue.length > 0) {
      const w = this.queue[0];
      if (w.kind === 'plan' && (plan || steps.size > 0 || end)) break;
      if (w.kind === 'step') {
        if (plan || end) break;
        const same = steps.get(w.num);
        if (same) {
          same.set = { ...same.set, ...w.set };
          this.queue.shift();
          continue;
        }
      }
      if (w.kind === 'end' && w.end.state !== 'complete' && (plan || steps.size > 0)) break;
      this.queue.shift();
      if (w.kind === 'step') {
        const copy = { ...w, set: { ...w.set } };
        steps.set(w.num, copy);
        batch.push(copy);
        continue;
      }
      if (w.kind === 'plan') plan = true;
      if (w.kind === 'end') end = true;
      batch.push(w);
    }
    return batch;
  }

  private async write(batch: RunWrite[]): Promise<void> {
    try {
      await this.run(batch);
    } catch (e) {
      if (isDatabaseUnavailable(e)) return this.retry(batch, e);
      if (batch.length === 1) return this.failed(e);
      // Nothing of the statement landed: each write on its own, as if never batched.
      for (const w of batch) {
        try {
          await this.run([w]);
        } catch (err) {
          this.failed(err);
        }
      }
    }
  }

  /** The database could not take `batch`: again after each of `RETRY_DELAYS_MS`, then the rows are lost. */
  private async retry(batch: RunWrite[], first: unknown): Promise<void> {
    let last = first;
    for (const delay of RETRY_DELAYS_MS) {
      await new Promise((r) => setTimeout(r, delay));
      try {
        await this.run(batch);
        return;
      } catch (e) {
        if (!isDatabaseUnavailable(e)) return this.failed(e);
        last = e;
      }
    }
    this.lose(last);
  }

  private lose(e: unknown): void {
    if (this.lost) return;
    this.lost = e instanceof Error ? e : new Error(String(e));
    this.queue.length = 0;
    this.logger.warn(`Run ${this.runId}: the database is unavailable, its rows are lost (${this.lost.message})`);
    this.unrecorded(this);
  }

  private failed(e: unknown): void {
    this.logger.error(`Could not record run ${this.runId}: ${(e as Error).message}`);
  }

  private run(batch: RunWrite[]): Promise<void> {
    return this.writes.write(this.runId, this.convUid, batch);
  }
}

/** A finished tool call as a `vis-plugin` block. */
function visPluginBlock(call: Extract<TeamEvent, { type: 'tool-call-done' }>): string {
  const item = {
    name: call.tool,
    args: call.args,
    logo: null,
    result: call.result,
    err_msg: call.error,
    status: call.status,
  };
  return `\`\`\`vis-plugin\n${JSON.stringify(item)}\n\`\`\``;
}
