import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { HistoryTurn } from '@ensemble/agents';
import { ApiError } from '../common/api-error';
import { pageOffset, pageTotals } from '../common/page.query';
import { InstanceLock } from './instance-lock';
import { RunRecorder } from './run-recorder';
import type { ConversationListView, ConversationView } from './conversation.types';
import {
  ConversationRow,
  LatestRunRow,
  MessageRow,
  NewRun,
  PlanStepRow,
  RunState,
  RunsRepository,
} from './runs.repository';

/** A run to start: its first write without the ids the service gives it. */
export type StartRun = Omit<NewRun, 'runId' | 'instanceId'>;

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
/** The latest run of a conversation (the run status route). */
export type LatestRun = LatestRunRow;

/** 404 `conversation_not_found`: the one answer for a conversation that does not exist or is another key's. */
export const conversationNotFound = (convUid: string) =>
  ApiError.notFound('conversation_not_found', `Conversation ${JSON.stringify(convUid)} was not found.`, 'conv_uid');

/** How often runs whose rows the database lost are retried to be marked failed. */
const REPAIR_INTERVAL_MS = 1000;

/** Most turns of a chat_normal conversation replayed as history. */
const MAX_HISTORY_TURNS = 100;

/** Stored runs (README, "Conversations"): starting a turn, recording it, reading history, recovering after a crash. */
@Injectable()
export class ConversationsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Conversations');

  constructor(
    private readonly runs: RunsRepository,
    private readonly lock: InstanceLock,
  ) {}

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
      const count = await this.runs.failRunsById(
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
    const run = this.newRun(s);
    return new RunRecorder(this.runs, run.runId, s.convUid, this.runs.openFresh(run), this.markFailedLater);
  }

  /**
   * Opens the next turn of a conversation the client named (creating it when
   * new) in one round trip (`RunsRepository.startRun`). When nothing was
   * inserted, a second read says why: 404 (another key's conversation, to a
   * non-admin key), 409 `conversation_conflict` or `conversation_busy`.
   */
  async startRun(s: StartRun, viewer: Viewer): Promise<RunRecorder> {
    const run = this.newRun(s);
    if (!(await this.runs.startRun(run))) {
      const conv = await this.runs.find(s.convUid);
      if (!conv) throw conversationNotFound(s.convUid);
      if (conv.ownerKey !== s.ownerKey) {
        // Another key's conversation does not exist for a non-admin key; an admin reads it but cannot continue it.
        if (!viewer.admin) throw conversationNotFound(s.convUid);
        throw ApiError.conflict(
          'conversation_conflict',
          `Conversation ${JSON.stringify(s.convUid)} was started with another key; use another conv_uid.`,
          'conv_uid',
        );
      }
      if (conv.userName !== s.userName) {
        throw ApiError.conflict(
          'conversation_conflict',
          `Conversation ${JSON.stringify(s.convUid)} belongs to another user_name; use another conv_uid.`,
          'user_name',
        );
      }
      if (conv.chatMode === s.chatMode && conv.appCode === s.appCode && conv.chatParam !== s.chatParam) {
        const over = s.chatMode === 'chat_knowledge' ? 'knowledge space' : 'datasource';
        throw ApiError.conflict(
          'conversation_conflict',
          `Conversation ${JSON.stringify(s.convUid)} runs over ${over} ${JSON.stringify(conv.chatParam)}; ` +
            'use another conv_uid to ask about another one.',
          'chat_param',
        );
      }
      if (conv.chatMode !== s.chatMode || conv.appCode !== s.appCode) {
        const owner = conv.appCode ? `app ${JSON.stringify(conv.appCode)}` : conv.chatMode;
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
    return new RunRecorder(this.runs, run.runId, s.convUid, undefined, this.markFailedLater);
  }

  private newRun(s: StartRun): NewRun {
    return { ...s, runId: randomUUID(), instanceId: this.lock.instanceId };
  }

  /** Earlier completed turns of a conversation, oldest first (the app trims them by its keep rounds). */
  async history(convUid: string): Promise<HistoryTurn[]> {
    const rows = await this.runs.history(convUid, MAX_HISTORY_TURNS);
    return rows.reverse().map((r) => ({ user: r.input, assistant: r.answer ?? '' }));
  }

  async list(q: ConversationListQuery, viewer: Viewer): Promise<ConversationListView> {
    const ownerKey = viewer.admin ? q.key_id : viewer.keyId;
    const { rows, total } = await this.runs.page(
      { ownerKey, appCode: q.app_code, userName: q.user_name },
      q.page_size,
      pageOffset(q),
    );
    return { conversations: rows.map(conversationView), ...pageTotals(q, total) };
  }

  /** A conversation with every turn, its messages and plan steps. */
  async get(convUid: string, viewer: Viewer): Promise<ConversationView> {
    const conv = await this.runs.find(convUid);
    if (!conv || !sees(viewer, conv.ownerKey)) throw conversationNotFound(convUid);
    const { runs, messages, steps } = await this.runs.turns(convUid);
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
    const conv = await this.runs.find(convUid);
    if (!conv || !sees(viewer, conv.ownerKey)) throw conversationNotFound(convUid);
    if (conv.state === 'running' && conv.turns > 0) {
      throw ApiError.conflict(
        'conversation_busy',
        'The conversation has a run in progress; cancel it first.',
        'conv_uid',
      );
    }
    await this.runs.remove(convUid);
  }

  /** A conversation's state, or undefined when it does not exist (or is another key's, to a non-admin key). */
  async state(convUid: string, viewer: Viewer): Promise<RunState | undefined> {
    const row = await this.runs.state(convUid);
    return row && sees(viewer, row.ownerKey) ? row.state : undefined;
  }

  /** This process's instance id (the one its runs are stored with). */
  get instanceId(): string {
    return this.lock.instanceId;
  }

  /** The latest run (turn) of a conversation, or undefined when there is none (or it is another key's, to a non-admin key). */
  async latestRun(convUid: string, viewer: Viewer): Promise<LatestRun | undefined> {
    const row = await this.runs.latestRun(convUid);
    if (!row || !sees(viewer, row.ownerKey)) return undefined;
    const { ownerKey: _owner, ...run } = row;
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
      const count = await this.runs.failRunsOf(id, 'The server stopped before this run ended.');
      if (count) this.logger.warn(`Marked ${count} interrupted run(s) of a stopped server as failed`);
    }
    return gone;
  }

  /** At boot: runs left `running` by a process that is gone are marked failed. */
  async onApplicationBootstrap(): Promise<void> {
    const owners = await this.runs.runningElsewhere(this.lock.instanceId);
    // Together: each owner whose lock is free is watched for the same grace period.
    const dead = await Promise.all(owners.map((owner) => this.lock.isDead(owner)));
    for (const [i, owner] of owners.entries()) {
      if (!dead[i]) continue;
      const count = await this.runs.failRunsOf(owner, 'The server stopped before this run ended.');
      if (count) this.logger.warn(`Marked ${count} interrupted run(s) of a stopped server as failed`);
    }
  }
}

/** Whether `viewer` may see a conversation owned by `ownerKey`. */
function sees(viewer: Viewer, ownerKey: string | null): boolean {
  return viewer.admin || ownerKey === viewer.keyId;
}

function conversationView(c: ConversationRow) {
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

function messageView(m: MessageRow) {
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

function stepView(s: PlanStepRow) {
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
