import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, In } from 'typeorm';
import type { HistoryTurn } from '@ensemble/agents';
import { ApiError } from '../common/api-error';
import { pageOffset, pageTotals } from '../common/page.query';
import { ConversationEntity, RunState } from './entities/conversation.entity';
import { MessageEntity } from './entities/message.entity';
import { PlanStepEntity } from './entities/plan-step.entity';
import { RunEntity } from './entities/run.entity';
import { poolRows, poolSql, RowsQuery } from '../database/pool-sql';
import { InstanceLock } from './instance-lock';
import { SqlStatement } from './sql-statement';
import { WriteBatcher } from './write-batcher';
import { RunRecorder } from './run-recorder';

export interface StartRun {
  convUid: string;
  /** The key starting the run: the conversation's owner. */
  ownerKey: string;
  chatMode: string;
  appCode: string | null;
  teamMode: string | null;
  userName: string | null;
  sysCode: string | null;
  input: string;
  model: string | null;
}

/** Who is asking: a key sees its own conversations; an admin key sees every one. */
export interface Viewer {
  keyId: string;
  admin: boolean;
}

export interface ConversationListQuery {
  app_code?: string;
  user_name?: string;
  /** Admins only: the conversations of one key. */
  key_id?: string;
  page: number;
  page_size: number;
}

/** A conversation's latest run, as its status shows it. */
export interface LatestRun {
  run_id: string;
  turn: number;
  state: RunState;
  answer: string | null;
  error: string | null;
  input_tokens: number;
  output_tokens: number;
  started_at: Date;
  finished_at: Date | null;
}

const notFound = (convUid: string) =>
  ApiError.notFound('conversation_not_found', `Conversation ${JSON.stringify(convUid)} was not found.`, 'conv_uid');

/** How often runs whose rows the database lost are retried to be marked failed. */
const REPAIR_INTERVAL_MS = 1000;

/** Most turns of a chat_normal conversation replayed as history. */
const MAX_HISTORY_TURNS = 100;

/** Stored runs (the stored-runs contract (README, Conversations)): starting a turn, recording it, reading history, recovering after a crash. */
@Injectable()
export class ConversationsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Conversations');
  /** Every run's writes: straight on the pool, merged across runs under load. */
  private readonly writes: WriteBatcher;
  /** Single statements on the pool (no QueryRunner each). */
  private readonly rows: RowsQuery;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly lock: InstanceLock,
  ) {
    this.rows = poolRows(db);
    this.writes = new WriteBatcher(poolSql(db));
  }

  private readonly send = (statement: SqlStatement) => this.writes.write(statement);

  /** Runs whose rows the database lost (run id → conv_uid), to be marked failed once it is back. */
  private readonly unrecorded = new Map<string, string>();
  private repairTimer?: NodeJS.Timeout;

  private readonly markFailedLater = (recorder: RunRecorder) => {
    this.unrecorded.set(recorder.runId, recorder.convUid);
    this.scheduleRepair();
  };

  private scheduleRepair(): void {
    if (this.repairTimer) return;
    this.repairTimer = setTimeout(() => void this.repair(), REPAIR_INTERVAL_MS);
  }

  /** Marks the runs whose rows were lost failed (those still `running`); tries again later while it cannot. */
  private async repair(): Promise<void> {
    this.repairTimer = undefined;
    const ids = [...this.unrecorded.keys()];
    try {
      const count = await this.failRuns(
        `id = ANY($1::uuid[])`,
        ids,
        'The database was unavailable while this run was recorded; its rows may be incomplete.',
      );
      for (const id of ids) this.unrecorded.delete(id);
      if (count) this.logger.warn(`Marked ${count} run(s) whose rows the database lost as failed`);
    } catch (e) {
      this.logger.warn(`Cannot yet mark ${ids.length} unrecorded run(s) failed: ${(e as Error).message}`);
    }
    if (this.unrecorded.size > 0) this.scheduleRepair();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.repairTimer);
  }

  /**
   * Opens the first turn of a conversation the server just named: it cannot
   * collide, so its two rows go in one statement, and the recorder is
   * returned at once with that write as its `opened` promise (the caller
   * awaits it before the run starts).
   */
  openFresh(s: StartRun): RunRecorder {
    const runId = randomUUID();
    const st = new SqlStatement();
    st.parts.push(
      `INSERT INTO conversations (conv_uid, chat_mode, app_code, user_name, sys_code, title, state, turns, owner_key)
       VALUES (${st.p(s.convUid)}, ${st.p(s.chatMode)}, ${st.p(s.appCode)}, ${st.p(s.userName)}, ${st.p(s.sysCode)}, ${st.p(s.input.slice(0, 200))}, 'running', 1, ${st.p(s.ownerKey)})`,
      `INSERT INTO conversation_runs (id, conv_uid, turn, chat_mode, app_code, team_mode, model, input, state, instance_id)
       VALUES (${st.p(runId)}, $1, 1, $2, $3, ${st.p(s.teamMode)}, ${st.p(s.model)}, ${st.p(s.input)}, 'running', ${st.p(this.lock.instanceId)})`,
    );
    return new RunRecorder(this.send, runId, s.convUid, this.send(st), this.markFailedLater);
  }

  /**
   * Opens the next turn of a conversation the client named (creating it when
   * new) in one statement, so in one round trip: the upsert takes the
   * conversation's row lock, moves it to the next turn only when it belongs
   * to this key, user, app and mode and has no run in progress, and the run
   * row is inserted with that turn. When nothing was inserted, a second read
   * says why: 404 (another key's conversation, to a non-admin key), 409
   * `conversation_conflict` or `conversation_busy`.
   */
  async startRun(s: StartRun, viewer: Viewer): Promise<RunRecorder> {
    const runId = randomUUID();
    const started = await this.rows(
      `WITH conv AS (
         INSERT INTO conversations AS c (conv_uid, chat_mode, app_code, user_name, sys_code, title, state, turns, owner_key)
         VALUES ($1, $2, $3, $4, $5, $6, 'running', 1, $12)
         ON CONFLICT (conv_uid) DO UPDATE SET state = 'running', turns = c.turns + 1, updated_at = now()
           WHERE c.chat_mode = EXCLUDED.chat_mode AND c.app_code IS NOT DISTINCT FROM EXCLUDED.app_code
             AND c.owner_key IS NOT DISTINCT FROM EXCLUDED.owner_key
             AND c.user_name IS NOT DISTINCT FROM EXCLUDED.user_name
             AND NOT (c.turns > 0 AND c.state = 'running')
         RETURNING c.turns)
       INSERT INTO conversation_runs (id, conv_uid, turn, chat_mode, app_code, team_mode, model, input, state, instance_id)
       SELECT $7, $1, conv.turns, $2, $3, $8, $9, $10, 'running', $11 FROM conv
       RETURNING turn`,
      [
        s.convUid,
        s.chatMode,
        s.appCode,
        s.userName,
        s.sysCode,
        s.input.slice(0, 200),
        runId,
        s.teamMode,
        s.model,
        s.input,
        this.lock.instanceId,
        s.ownerKey,
      ],
    );
    if (started.length === 0) {
      const [conv] = await this.rows(
        'SELECT chat_mode, app_code, owner_key, user_name FROM conversations WHERE conv_uid = $1',
        [s.convUid],
      );
      if (!conv) throw notFound(s.convUid);
      if (conv.owner_key !== s.ownerKey) {
        // Another key's conversation does not exist for a non-admin key; an admin reads it but cannot continue it.
        if (!viewer.admin) throw notFound(s.convUid);
        throw ApiError.conflict(
          'conversation_conflict',
          `Conversation ${JSON.stringify(s.convUid)} was started with another key; use another conv_uid.`,
          'conv_uid',
        );
      }
      if (conv.user_name !== s.userName) {
        throw ApiError.conflict(
          'conversation_conflict',
          `Conversation ${JSON.stringify(s.convUid)} belongs to another user_name; use another conv_uid.`,
          'user_name',
        );
      }
      if (conv.chat_mode !== s.chatMode || conv.app_code !== s.appCode) {
        const owner = conv.app_code ? `app ${JSON.stringify(conv.app_code)}` : String(conv.chat_mode);
        throw ApiError.conflict(
          'conversation_conflict',
          `Conversation ${JSON.stringify(s.convUid)} belongs to ${owner}; use another conv_uid.`,
          'conv_uid',
        );
      }
      throw ApiError.conflict(
        'conversation_busy',
        `Conversation ${JSON.stringify(s.convUid)} has a run in progress; wait for it or cancel it.`,
        'conv_uid',
      );
    }
    return new RunRecorder(this.send, runId, s.convUid, undefined, this.markFailedLater);
  }

  /** Earlier completed turns of a conversation, oldest first (the app trims them by its keep rounds). */
  async history(convUid: string): Promise<HistoryTurn[]> {
    const rows = await this.rows(
      `SELECT input, answer FROM conversation_runs WHERE conv_uid = $1 AND state = 'complete' ORDER BY turn DESC LIMIT $2`,
      [convUid, MAX_HISTORY_TURNS],
    );
    return rows.reverse().map((r) => ({ user: String(r.input), assistant: (r.answer as string | null) ?? '' }));
  }

  async list(q: ConversationListQuery, viewer: Viewer) {
    const qb = this.db.getRepository(ConversationEntity).createQueryBuilder('c');
    if (!viewer.admin) qb.andWhere('c.owner_key = :owner', { owner: viewer.keyId });
    else if (q.key_id !== undefined) qb.andWhere('c.owner_key = :owner', { owner: q.key_id });
    if (q.app_code !== undefined) qb.andWhere('c.app_code = :app', { app: q.app_code });
    if (q.user_name !== undefined) qb.andWhere('c.user_name = :user', { user: q.user_name });
    qb.orderBy('c.updated_at', 'DESC').addOrderBy('c.conv_uid', 'ASC').skip(pageOffset(q)).take(q.page_size);
    const [rows, total] = await qb.getManyAndCount();
    return { conversations: rows.map(conversationView), ...pageTotals(q, total) };
  }

  /** A conversation with every turn, its messages and plan steps. */
  async get(convUid: string, viewer: Viewer) {
    const conv = await this.db.getRepository(ConversationEntity).findOneBy({ convUid });
    if (!conv || !sees(viewer, conv.ownerKey)) throw notFound(convUid);
    const runs = await this.db.getRepository(RunEntity).find({ where: { convUid }, order: { turn: 'ASC' } });
    const ids = runs.map((r) => r.id);
    const [messages, steps] = ids.length
      ? await Promise.all([
          this.db
            .getRepository(MessageEntity)
            .find({ where: { runId: In(ids) }, order: { runId: 'ASC', round: 'ASC', id: 'ASC' } }),
          this.db
            .getRepository(PlanStepEntity)
            .find({ where: { runId: In(ids) }, order: { runId: 'ASC', num: 'ASC' } }),
        ])
      : [[], []];
    return {
      ...conversationView(conv),
      turns: runs.map((r) => ({
        run_id: r.id,
        turn: r.turn,
        chat_mode: r.chatMode,
        team_mode: r.teamMode,
        model: r.model,
        input: r.input,
        answer: r.answer,
        state: r.state,
        error: r.error,
        usage: usageView(r),
        started_at: r.startedAt.toISOString(),
        finished_at: r.finishedAt?.toISOString() ?? null,
        messages: messages.filter((m) => m.runId === r.id).map(messageView),
        plan_steps: steps.filter((s) => s.runId === r.id).map(stepView),
      })),
    };
  }

  async remove(convUid: string, viewer: Viewer): Promise<void> {
    const conv = await this.db.getRepository(ConversationEntity).findOneBy({ convUid });
    if (!conv || !sees(viewer, conv.ownerKey)) throw notFound(convUid);
    if (conv.state === 'running' && conv.turns > 0) {
      throw ApiError.conflict(
        'conversation_busy',
        'The conversation has a run in progress; cancel it first.',
        'conv_uid',
      );
    }
    await this.db.getRepository(ConversationEntity).delete({ convUid });
  }

  /** A conversation's state, or undefined when it does not exist (or is another key's, to a non-admin key). */
  async state(convUid: string, viewer: Viewer): Promise<RunState | undefined> {
    const rows: { state: RunState; owner_key: string | null }[] = await this.db.query(
      'SELECT state, owner_key FROM conversations WHERE conv_uid = $1',
      [convUid],
    );
    return rows[0] && sees(viewer, rows[0].owner_key) ? rows[0].state : undefined;
  }

  /** This process's instance id (the one its runs are stored with). */
  get instanceId(): string {
    return this.lock.instanceId;
  }

  /** The latest run (turn) of a conversation, or undefined when there is none (or it is another key's, to a non-admin key). */
  async latestRun(convUid: string, viewer: Viewer): Promise<LatestRun | undefined> {
    const rows: (LatestRun & { owner_key: string | null })[] = await this.db.query(
      `SELECT c.owner_key, r.id AS run_id, r.turn, r.state, r.answer, r.error, r.input_tokens, r.output_tokens,
              r.started_at, r.finished_at
       FROM conversations c JOIN conversation_runs r ON r.conv_uid = c.conv_uid
       WHERE c.conv_uid = $1 ORDER BY r.turn DESC LIMIT 1`,
      [convUid],
    );
    if (!rows[0] || !sees(viewer, rows[0].owner_key)) return undefined;
    const { owner_key: _owner, ...run } = rows[0];
    return run;
  }

  /**
   * Marks the `running` runs of the listed processes that are gone (their
   * instance lock free for the grace period) failed, as a restart does for
   * its own; returns the ids of the processes found gone.
   */
  async failRunsOfGoneInstances(instanceIds: string[]): Promise<string[]> {
    const dead = await Promise.all(instanceIds.map((id) => this.lock.isDead(id)));
    const gone = instanceIds.filter((_, i) => dead[i]);
    for (const id of gone) {
      const count = await this.failRuns('instance_id = $1', id, 'The server stopped before this run ended.');
      if (count) this.logger.warn(`Marked ${count} interrupted run(s) of a stopped server as failed`);
    }
    return gone;
  }

  /** At boot: runs left `running` by a process that is gone are marked failed. */
  async onApplicationBootstrap(): Promise<void> {
    const owners: { instance_id: string }[] = await this.db.query(
      `SELECT DISTINCT instance_id FROM conversation_runs WHERE state = 'running' AND instance_id <> $1`,
      [this.lock.instanceId],
    );
    // Together: each owner whose lock is free is watched for the same grace period.
    const dead = await Promise.all(owners.map(({ instance_id }) => this.lock.isDead(instance_id)));
    for (const [i, { instance_id }] of owners.entries()) {
      if (!dead[i]) continue;
      const count = await this.failRuns('instance_id = $1', instance_id, 'The server stopped before this run ended.');
      if (count) this.logger.warn(`Marked ${count} interrupted run(s) of a stopped server as failed`);
    }
  }

  /** Marks the `running` runs matching `where` (on `$1`) failed, with their open steps and conversations. */
  private async failRuns(where: string, param: unknown, reason: string): Promise<number> {
    return this.db.transaction(async (em) => {
      // TypeORM answers an UPDATE … RETURNING with [rows, affected count].
      const [runs]: [{ id: string; conv_uid: string }[], number] = await em.query(
        `UPDATE conversation_runs SET state = 'failed', error = $2, finished_at = now()
         WHERE ${where} AND state = 'running' RETURNING id, conv_uid`,
        [param, reason],
      );
      if (!runs.length) return 0;
      await em.query(
        `UPDATE conversation_plan_steps SET state = 'failed', updated_at = now() WHERE run_id = ANY($1) AND state IN ('todo', 'running')`,
        [runs.map((r) => r.id)],
      );
      await em.query(
        `UPDATE conversations SET state = 'failed', updated_at = now() WHERE conv_uid = ANY($1) AND state = 'running'`,
        [runs.map((r) => r.conv_uid)],
      );
      return runs.length;
    });
  }
}

/** Whether `viewer` may see a conversation owned by `ownerKey`. */
function sees(viewer: Viewer, ownerKey: string | null): boolean {
  return viewer.admin || ownerKey === viewer.keyId;
}

function conversationView(c: ConversationEntity) {
  return {
    conv_uid: c.convUid,
    key_id: c.ownerKey,
    chat_mode: c.chatMode,
    app_code: c.appCode,
    user_name: c.userName,
    sys_code: c.sysCode,
    title: c.title,
    state: c.state,
    turn_count: c.turns,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

/** Stored token counts in OpenAI's usage shape. */
function usageView(row: { inputTokens: number; outputTokens: number }) {
  return {
    prompt_tokens: row.inputTokens,
    completion_tokens: row.outputTokens,
    total_tokens: row.inputTokens + row.outputTokens,
  };
}

function messageView(m: MessageEntity) {
  return {
    round: m.round,
    step_num: m.stepNum,
    sender: m.sender,
    receiver: m.receiver,
    model: m.model,
    content: m.content,
    success: m.success,
    usage: usageView(m),
    resource: m.resource ?? null,
    created_at: m.createdAt.toISOString(),
  };
}

function stepView(s: PlanStepEntity) {
  return {
    num: s.num,
    title: s.title,
    agent: s.agent,
    rely: s.rely,
    state: s.state,
    retries: s.retries,
    result: s.result,
    error: s.error,
  };
}
