import { Logger } from '@nestjs/common';
import type { TeamEvent } from '@ensemble/agents';
import type { Usage } from '@ensemble/llm';
import { isDatabaseUnavailable } from '../database/db-errors';
import { SqlStatement } from './sql-statement';
import { RunState } from './entities/conversation.entity';

export interface RunEnd {
  state: Exclude<RunState, 'running'>;
  answer?: string | null;
  error?: string | null;
  usage?: Usage;
  model?: string | null;
}

/** A message as stored (chat_normal records its two messages directly). */
export interface MessageRecord {
  round: number;
  stepNum: number | null;
  sender: string;
  receiver: string;
  model: string | null;
  content: string;
  success: boolean;
  usage?: Usage;
  /** What the message drew on (e.g. knowledge references). */
  resource?: unknown;
}

/** A plan step's columns a step event sets (`updated_at` is always set to now()). */
interface StepFields {
  state?: string;
  result?: string;
  retries?: number;
  error?: string;
}

/** Waits before each new attempt of a write the database could not take (about 3 s in all). */
const RETRY_DELAYS_MS = [100, 200, 400, 800, 1600];

/** One write of the run, as queued. */
type Write =
  | { kind: 'plan'; steps: { num: number; title: string; agent: string; rely: number[] }[] }
  | { kind: 'step'; num: number; set: StepFields }
  | { kind: 'message'; message: MessageRecord }
  | { kind: 'end'; end: RunEnd };

/**
 * Writes one run's rows as its events happen, in order, off the token hot
 * path: tokens are never written, each message, step change and the end
 * are. Writes are chained so they land in event order; a failed write is
 * logged and does not break the stream. `flush()` resolves when all landed.
 *
 * Writes queued while an earlier one is in flight (a burst of team events,
 * or chat_normal's message and end) go out together as one statement of
 * data-modifying CTEs: one round trip and one commit instead of one each.
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
  private readonly queue: Write[] = [];
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
    /** Sends one statement (the process's `WriteBatcher`). */
    private readonly send: (statement: SqlStatement) => Promise<void>,
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

  private enqueue(write: Write): void {
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
  private nextBatch(): Write[] {
    const batch: Write[] = [];
    const steps = new Map<number, Write & { kind: 'step' }>();
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

  private async write(batch: Write[]): Promise<void> {
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
  private async retry(batch: Write[], first: unknown): Promise<void> {
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

  private async run(batch: Write[]): Promise<void> {
    const s = new SqlStatement();
    for (const w of batch) this.add(s, w);
    await this.send(s);
  }

  private add(s: SqlStatement, w: Write): void {
    const run = () => s.p(this.runId, '::uuid');
    switch (w.kind) {
      case 'plan': {
        const rows = w.steps.map(
          (st) => `(${run()}, ${s.p(st.num)}, ${s.p(st.title)}, ${s.p(st.agent)}, ${s.p(st.rely, '::int[]')}, 'todo')`,
        );
        s.parts.push(
          `INSERT INTO conversation_plan_steps (run_id, num, title, agent, rely, state) VALUES ${rows.join(', ')}`,
        );
        return;
      }
      case 'step': {
        const set = Object.entries(w.set).map(([column, value]) => `${column} = ${s.p(value)}`);
        s.parts.push(
          `UPDATE conversation_plan_steps SET ${[...set, 'updated_at = now()'].join(', ')} WHERE run_id = ${run()} AND num = ${s.p(w.num)}`,
        );
        return;
      }
      case 'message': {
        const m = w.message;
        const values = [
          run(),
          s.p(m.round),
          s.p(m.stepNum),
          s.p(m.sender),
          s.p(m.receiver),
          s.p(m.model),
          s.p(m.content),
          s.p(m.success),
        ];
        values.push(s.p(m.usage?.inputTokens ?? 0), s.p(m.usage?.outputTokens ?? 0));
        values.push(m.resource === undefined ? 'NULL' : s.p(JSON.stringify(m.resource), '::jsonb'));
        s.parts.push(
          `INSERT INTO conversation_messages (run_id, round, step_num, sender, receiver, model, content, success, input_tokens, output_tokens, resource) VALUES (${values.join(', ')})`,
        );
        return;
      }
      case 'end': {
        const e = w.end;
        const set = [
          `state = ${s.p(e.state)}`,
          `answer = ${s.p(e.answer ?? null)}`,
          `error = ${s.p(e.error ?? null)}`,
          `input_tokens = ${s.p(e.usage?.inputTokens ?? 0)}`,
          `output_tokens = ${s.p(e.usage?.outputTokens ?? 0)}`,
          ...(e.model ? [`model = ${s.p(e.model)}`] : []),
          'finished_at = now()',
        ];
        s.parts.push(`UPDATE conversation_runs SET ${set.join(', ')} WHERE id = ${run()}`);
        if (e.state !== 'complete') {
          s.parts.push(
            `UPDATE conversation_plan_steps SET state = 'failed', updated_at = now() WHERE run_id = ${run()} AND state IN ('todo', 'running')`,
          );
        }
        s.parts.push(
          `UPDATE conversations SET state = ${s.p(e.state)}, updated_at = now() WHERE conv_uid = ${s.p(this.convUid)}`,
        );
        return;
      }
    }
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
