import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Observable } from 'rxjs';
import { ChunkFrames, DONE_FRAME } from '../chat/chunks';
import { failureNote } from '../chat/dbgpt-compat';
import type { FlowGate } from '../chat/flow-gate';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, type ResolvedConfig } from '../config/config';
import { conversationNotFound, ConversationsService, Viewer } from '../conversations/conversations.service';
import { isDatabaseUnavailable } from '../database/db-errors';
import { PersistentSession } from '../database/persistent-session';
import { FramesWriter } from './frames-writer';
import { framesAfter, isDone, LocalStream, numbered, splitFrames } from './local-stream';
import { FRAMES_CHANNEL, RunFramesRepository, StreamHead } from './run-frames.repository';

/** Batches of frames read per query by a follower. */
const READ_BATCHES = 64;
/** A follower reads the store at least this often, woken or not (a wake-up lost with the LISTEN session). */
const FOLLOW_POLL_MS = 5000;
/** Waits before each new attempt of a frames write the database refused (about 25 s in all). */
const WRITE_RETRY_MS = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000];
/** Run ids per NOTIFY (a payload holds at most 8000 bytes; a uuid and its comma take 37). */
const NOTIFY_RUNS = 200;
/** Rows removed per statement by the retention sweep, and statements per sweep. */
const SWEEP_LIMIT = 1000;
const SWEEP_ROUNDS = 10;

const STOPPED = 'The server stopped before this run ended.';

interface Waiter {
  woken: boolean;
  resolve?: () => void;
}

/** A conversation's latest run as `GET /api/v2/chat/completions/{conv_uid}` shows it. */
export interface RunStatus {
  conv_uid: string;
  run_id: string;
  turn: number;
  state: string;
  background: boolean;
  started_at: string;
  ended_at: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  content: string | null;
  error: string | null;
  /** The number of the last frame stored (background runs), what `Last-Event-ID` counts. */
  last_event_id: number | null;
}

/** The content a view-per-chunk (`incremental: false`) stream showed last, read from its last stored batch. */
function lastView(batch: string | undefined): string {
  if (!batch) return '';
  const lines = batch.split('\n').filter((l) => l.startsWith('data: {'));
  for (const line of lines.reverse()) {
    const chunk = JSON.parse(line.slice(6)) as { choices?: { delta?: { role?: string; content?: unknown } }[] };
    const delta = chunk.choices?.[0]?.delta;
    if (delta?.role && typeof delta.content === 'string') return delta.content;
  }
  return '';
}

/**
 * Durable runs (SPEC §10): a background run's SSE frames, numbered and kept
 * in Postgres (`run_frames`, one row per write batch) so that any replica
 * can replay them after a `Last-Event-ID` and follow the run live to
 * `[DONE]`. Followers are woken in memory on the run's own replica and by
 * LISTEN/NOTIFY on the others (one long-lived session, re-opened after a
 * database restart, like the cancel bus). A background job ends the streams
 * of runs whose server is gone (a failure frame and `[DONE]`) and removes
 * frames older than RUN_RETENTION.
 */
@Injectable()
export class RunStreamsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RunStreams');
  private readonly local = new Map<string, LocalStream>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly followers = new Set<AbortController>();
  private readonly session: PersistentSession;
  private sweepTimer?: NodeJS.Timeout;
  private readonly toNotify = new Set<string>();
  /** Every run's frame appends, merged across runs under load. */
  private readonly writer: FramesWriter;
  private notifying?: Promise<void>;
  private sweeping?: Promise<void>;

  constructor(
    private readonly repo: RunFramesRepository,
    private readonly conversations: ConversationsService,
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
  ) {
    this.writer = new FramesWriter((batches) => this.repo.append(batches));
    this.session = new PersistentSession({
      url: config.databaseUrl,
      name: 'ensemble-run-frames',
      timeouts: { connectTimeoutMs: config.dbConnectTimeoutMs, statementTimeoutMs: config.dbStatementTimeoutMs },
      setup: async (client) => {
        client.on('notification', (n) => {
          if (n.channel !== FRAMES_CHANNEL || !n.payload) return;
          const [instance, runIds] = n.payload.split(' ');
          // This replica's own writes woke its followers already.
          if (instance !== this.instanceId && runIds) for (const runId of runIds.split(',')) this.wake(runId);
        });
        await client.query(`LISTEN ${FRAMES_CHANNEL}`);
        // Wake-ups sent while the session was down are lost: every follower reads again.
        for (const runId of this.waiters.keys()) this.wake(runId);
      },
    });
  }

  private get instanceId(): string {
    return this.conversations.instanceId;
  }

  async onModuleInit(): Promise<void> {
    try {
      await this.session.open();
    } catch (e) {
      if (isDatabaseUnavailable(e)) this.session.retry();
      // Without LISTEN, followers on other replicas read every FOLLOW_POLL_MS.
      else this.logger.warn(`Cannot LISTEN for run frames (${(e as Error).message}); followers poll`);
    }
    this.sweepTimer = setInterval(() => void this.sweep(), this.config.runSweepIntervalMs);
    this.sweepTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweepTimer);
    for (const follower of this.followers) follower.abort('The server is stopping.');
    await this.sweeping;
    await this.notifying;
    await this.session.close();
  }

  /**
   * Starts a background run's stream: registered on this replica at once,
   * its row stored by the returned promise. The run need not wait for it
   * (its first write does); a caller that answers before any frame (202)
   * waits, so that a resume anywhere finds the stream.
   */
  open(head: Omit<StreamHead, 'instanceId'>): Promise<void> {
    const stream = new LocalStream(head.runId);
    this.local.set(head.runId, stream);
    const stored = this.repo.open({ ...head, instanceId: this.instanceId });
    stream.opened = stored.then(
      () => true,
      (e: unknown) => {
        this.logger.error(`run ${head.runId}: cannot store its stream (${(e as Error).message})`);
        this.local.delete(head.runId);
        return false;
      },
    );
    return stored;
  }

  /**
   * Numbers and stores the frames of a run opened with `open`, one write per
   * batch (the frames of a tick, and those that came while the previous
   * write was in flight), never waiting for a follower. Resolves once
   * `[DONE]` is stored, or the store is given up on: the stream was ended by
   * another replica, or the database refused the frames for too long (then
   * `onLost` is called, so the run stops; the sweep ends its stream).
   */
  publish(runId: string, frames$: Observable<string>, head: ChunkFrames, onLost: (reason: string) => void) {
    const stream = this.local.get(runId);
    if (!stream) throw new Error(`run ${runId} was not opened`);
    const pending: string[] = [];
    let scheduled = false;
    let writing = false;
    let settle!: () => void;
    const published = new Promise<void>((resolve) => (settle = resolve));
    const close = (reason?: string) => {
      if (stream.closed) return;
      stream.closed = true;
      pending.length = 0;
      this.local.delete(runId);
      if (reason) onLost(reason);
      settle();
    };
    const write = async () => {
      scheduled = false;
      if (writing) return;
      writing = true;
      try {
        if (!(await stream.opened)) return close('The run could not be kept: its stream could not be stored.');
        while (pending.length && !stream.closed) {
          const batch = pending.splice(0);
          const first = stream.committed + 1;
          const done = isDone(batch[batch.length - 1]);
          const text = batch.join('');
          const stored = await this.append(runId, first, first + batch.length - 1, text, done);
          if (stored !== true) return close(stored);
          stream.commit(text, batch.length, done);
          this.wake(runId);
          if (done) return close();
        }
      } finally {
        writing = false;
      }
    };
    const push = (frame: string) => {
      if (stream.closed) return;
      pending.push(numbered(++stream.seq, frame));
      if (!scheduled) {
        scheduled = true;
        process.nextTick(() => void write());
      }
    };
    let last = '';
    frames$.subscribe({
      next: (chunk) => {
        for (const frame of splitFrames(chunk)) push((last = frame));
      },
      // The run's frames end with [DONE] on every path; should they not, the stream still ends.
      error: (e: unknown) => {
        this.logger.error(`run ${runId}: frames failed: ${String(e)}`);
        const error = new ApiError(500, 'internal_error', 'The run failed unexpectedly.');
        push(head.failure(failureNote(error.message, 'text sent before'), error.body()));
        push(DONE_FRAME);
      },
      complete: () => {
        if (!isDone(last)) push(DONE_FRAME);
      },
    });
    return published;
  }

  /** Stores one batch, trying again while the database is away: true, or why the stream was given up. */
  private async append(
    runId: string,
    first: number,
    last: number,
    text: string,
    done: boolean,
  ): Promise<true | string> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (await this.writer.write({ runId, firstSeq: first, lastSeq: last, frames: text, done })) {
          this.notify(runId);
          return true;
        }
        return 'The run was ended by another server (its stream was taken over).';
      } catch (e) {
        if (attempt >= WRITE_RETRY_MS.length) {
          this.logger.error(`run ${runId}: cannot store its frames (${(e as Error).message}); the run is stopped`);
          return 'The run could not be kept: its frames could not be stored.';
        }
        await new Promise((r) => setTimeout(r, WRITE_RETRY_MS[attempt]));
      }
    }
  }

  /**
   * The latest run of a conversation, replayed after frame `after` and
   * followed to `[DONE]`. 404 when there is no such conversation (or it is
   * another key's, to a non-admin key), and when its latest run has no
   * stored stream (not a background run, or expired).
   */
  async resume(convUid: string, viewer: Viewer, after: number, signal: AbortSignal, gate: FlowGate) {
    const run = await this.conversations.latestRun(convUid, viewer);
    if (!run) throw conversationNotFound(convUid);
    if (!this.local.has(run.run_id) && !(await this.repo.position(run.run_id)))
      throw ApiError.notFound(
        'run_stream_not_found',
        `The latest run of conversation ${JSON.stringify(convUid)} has no stream to resume: it was not started with ` +
          '"background": true, or it ended longer ago than RUN_RETENTION.',
        'conv_uid',
      );
    return this.follow(run.run_id, after, signal, gate);
  }

  /** The latest run of a conversation: state, times, usage and (when ended) content; 404 as `resume`. */
  async status(convUid: string, viewer: Viewer): Promise<RunStatus> {
    const run = await this.conversations.latestRun(convUid, viewer);
    if (!run) throw conversationNotFound(convUid);
    const local = this.local.get(run.run_id);
    const position = local ? { lastSeq: local.committed } : await this.repo.position(run.run_id);
    return {
      conv_uid: convUid,
      run_id: run.run_id,
      turn: run.turn,
      state: run.state,
      background: !!local || !!position,
      started_at: run.started_at.toISOString(),
      ended_at: run.finished_at?.toISOString() ?? null,
      usage: {
        prompt_tokens: run.input_tokens,
        completion_tokens: run.output_tokens,
        total_tokens: run.input_tokens + run.output_tokens,
      },
      content: run.state === 'running' ? null : run.answer,
      error: run.error,
      last_event_id: position ? position.lastSeq : null,
    };
  }

  /**
   * The frames of a run after `after`, then live ones to `[DONE]`: from
   * memory when this replica writes the run and still holds them, otherwise
   * from the store, a batch of batches at a time. Reads wait while `gate` is
   * closed (the client is not taking bytes), so a slow follower holds
   * nothing; the run never waits for it. Ends when the stream is done, no
   * longer stored, or `signal` aborts.
   */
  follow(runId: string, after: number, signal: AbortSignal, gate: FlowGate): Observable<string> {
    return new Observable<string>((subscriber) => {
      const controller = new AbortController();
      const stop = () => controller.abort('The follower stopped.');
      signal.addEventListener('abort', stop, { once: true });
      this.followers.add(controller);
      let position = after;
      const loop = async () => {
        while (!controller.signal.aborted) {
          const wait = gate.passed(controller.signal);
          if (wait) await wait;
          if (controller.signal.aborted) break;
          const waiter = this.waiter(runId);
          try {
            const local = this.local.get(runId);
            const fromMemory = local?.after(position);
            if (local && fromMemory !== undefined) {
              if (fromMemory) {
                position = local.committed;
                subscriber.next(fromMemory);
                if (local.ended) break;
                continue;
              }
              if (local.ended) break;
            } else {
              const read = await this.repo.framesAfter(runId, position, READ_BATCHES);
              if (!read) break;
              let text = '';
              for (const row of read.rows) text += framesAfter(row.frames, row.firstSeq, position);
              if (read.rows.length) position = read.rows[read.rows.length - 1].lastSeq;
              if (text && !controller.signal.aborted) subscriber.next(text);
              if (read.rows.length === READ_BATCHES) continue;
              if (read.done && position >= read.lastSeq) break;
            }
            await this.sleep(waiter, controller.signal);
          } finally {
            this.release(runId, waiter);
          }
        }
      };
      loop().then(
        () => subscriber.complete(),
        (e: unknown) => subscriber.error(e),
      );
      return () => {
        signal.removeEventListener('abort', stop);
        this.followers.delete(controller);
        controller.abort('The follower stopped.');
      };
    });
  }

  /**
   * Wakes the followers of `runId` on the other replicas: one NOTIFY at a
   * time per replica, carrying every run appended to meanwhile (a notifying
   * commit waits for every other one in Postgres, so one per append would
   * serialise all the runs' writes).
   */
  private notify(runId: string): void {
    this.toNotify.add(runId);
    if (!this.notifying) this.notifying = this.sendNotifications().finally(() => (this.notifying = undefined));
  }

  private async sendNotifications(): Promise<void> {
    while (this.toNotify.size) {
      const ids = [...this.toNotify].slice(0, NOTIFY_RUNS);
      for (const id of ids) this.toNotify.delete(id);
      // Followers that miss it read again within FOLLOW_POLL_MS.
      await this.repo
        .notify(`${this.instanceId} ${ids.join(',')}`)
        .catch((e: unknown) => this.logger.warn(`Cannot wake followers on other replicas: ${(e as Error).message}`));
    }
  }

  private waiter(runId: string): Waiter {
    const waiter: Waiter = { woken: false };
    let set = this.waiters.get(runId);
    if (!set) this.waiters.set(runId, (set = new Set()));
    set.add(waiter);
    return waiter;
  }

  private release(runId: string, waiter: Waiter): void {
    const set = this.waiters.get(runId);
    set?.delete(waiter);
    if (set?.size === 0) this.waiters.delete(runId);
  }

  /** Until woken (at once if it was while the follower read), `signal` aborts, or FOLLOW_POLL_MS. */
  private sleep(waiter: Waiter, signal: AbortSignal): Promise<void> {
    if (waiter.woken || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, FOLLOW_POLL_MS);
      signal.addEventListener('abort', done, { once: true });
      waiter.resolve = done;
    });
  }

  private wake(runId: string): void {
    for (const waiter of this.waiters.get(runId) ?? []) {
      waiter.woken = true;
      waiter.resolve?.();
    }
  }

  /** One pass of the background job (never two at once). */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce()
      .catch((e: unknown) => this.logger.warn(`Run streams sweep failed: ${(e as Error).message}`))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    await this.endOrphans();
    let frames = 0;
    let streams = 0;
    for (let round = 0; round < SWEEP_ROUNDS; round++) {
      const removed = await this.repo.removeExpired(this.config.runRetentionMs, SWEEP_LIMIT);
      frames += removed.frames;
      streams += removed.streams;
      if (removed.frames < SWEEP_LIMIT && removed.streams < SWEEP_LIMIT) break;
    }
    if (frames || streams) this.logger.log(`Removed ${frames} frame batch(es) of ${streams} expired run stream(s)`);
  }

  /**
   * Streams nobody will finish: those of runs whose server is gone (their
   * runs are marked failed first, as at a restart) and this replica's own
   * that it no longer writes. Each gets a failure frame and `[DONE]`, and
   * its followers are woken.
   */
  private async endOrphans(): Promise<void> {
    const open = await this.repo.openStreams();
    if (!open.length) return;
    const others = [...new Set(open.map((s) => s.instanceId).filter((id) => id !== this.instanceId))];
    const gone = new Set(others.length ? await this.conversations.failRunsOfGoneInstances(others) : []);
    for (const s of open) {
      const orphan = s.instanceId === this.instanceId ? !this.local.has(s.runId) : gone.has(s.instanceId);
      if (orphan && (await this.endStream(s.runId, STOPPED))) this.wake(s.runId);
    }
  }

  /** Appends a failure frame (as the run would have sent it) and `[DONE]` to an open stream. */
  private endStream(runId: string, reason: string): Promise<boolean> {
    return this.repo.end(runId, (next, head, lastBatch) => {
      const frames = new ChunkFrames(head.chunkId, head.model, head.created);
      const error = new ApiError(500, 'run_failed', reason);
      const shown = head.incremental ? '' : lastView(lastBatch);
      const content = shown + failureNote(reason, head.incremental ? 'text sent before' : shown);
      return {
        frames: numbered(next, frames.failure(content, error.body())) + numbered(next + 1, DONE_FRAME),
        count: 2,
      };
    });
  }
}
