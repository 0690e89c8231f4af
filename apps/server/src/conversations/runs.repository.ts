import { Injectable } from '@nestjs/common';
import type { Usage } from '@ensemble/llm';
import { PgCode, pgError, Sql } from '../database/sql';
import { SqlStatement } from '../database/sql-statement';
import { WriteBatcher } from '../database/write-batcher';
import { ConversationsError } from './conversations.errors';

export type RunState = 'running' | 'complete' | 'failed' | 'cancelled';

/** The state of a plan step. */
export type StepState = 'todo' | 'running' | 'complete' | 'failed';

/** A run's first write: its conversation's row (new or next turn) and its own. */
export interface NewRun {
  runId: string;
  convUid: string;
  /** The key starting the run: the conversation's owner. */
  ownerKey: string;
  chatMode: string;
  appCode: string | null;
  /** The datasource (chat_data, chat_db_qa) or knowledge space (chat_knowledge) the turn runs over; null otherwise. */
  chatParam: string | null;
  teamMode: string | null;
  userName: string | null;
  sysCode: string | null;
  input: string;
  model: string | null;
  /** The process that runs it (`InstanceLock.instanceId`). */
  instanceId: string;
}

/** A row of `conversations`, by property: a conversation's latest state and how many turns it has. */
export interface ConversationRow {
  convUid: string;
  chatMode: string;
  appCode: string | null;
  /** Its datasource or knowledge space (null: none, or stored before conversations kept it). */
  chatParam: string | null;
  userName: string | null;
  sysCode: string | null;
  /** The key that started it (null: stored before conversations had owners; admins only). */
  ownerKey: string | null;
  /** The first input, for lists. */
  title: string;
  state: RunState;
  turns: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The latest run of a conversation, as the run status route reads it (column names as stored). */
export interface LatestRunRow {
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

/** A row of `conversation_runs`, by property: one turn, the run that answered it, and how it ended. */
export interface RunRow {
  id: string;
  turn: number;
  chatMode: string;
  teamMode: string | null;
  model: string | null;
  input: string;
  answer: string | null;
  state: RunState;
  error: string | null;
  inputTokens: number;
  outputTokens: number;
  startedAt: Date;
  finishedAt: Date | null;
}

/** A row of `conversation_messages`, by property: one agent message of a run. */
export interface MessageRow extends Omit<MessageRecord, 'usage' | 'resource'> {
  runId: string;
  inputTokens: number;
  outputTokens: number;
  /** What the message drew on (e.g. knowledge references), as shown in its vis `resource`. */
  resource: unknown;
  createdAt: Date;
}

/** A row of `conversation_plan_steps`, by property: one step of a run's plan. */
export interface PlanStepRow {
  runId: string;
  num: number;
  title: string;
  agent: string;
  rely: number[];
  state: StepState;
  retries: number;
  result: string | null;
  error: string | null;
}

/** A conversation's turns, each turn's messages and plan steps, in order. */
export interface ConversationTurns {
  runs: RunRow[];
  messages: MessageRow[];
  steps: PlanStepRow[];
}

/** Filters of a list of conversations; each one present narrows it. */
export interface ConversationFilter {
  ownerKey?: string;
  appCode?: string;
  userName?: string;
}

/** How a run ended. */
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
export interface StepFields {
  state?: StepState;
  result?: string;
  retries?: number;
  error?: string;
}

/** One write of a running run, after its first. */
export type RunWrite =
  | { kind: 'plan'; steps: { num: number; title: string; agent: string; rely: number[] }[] }
  | { kind: 'step'; num: number; set: StepFields }
  | { kind: 'message'; message: MessageRecord }
  | { kind: 'end'; end: RunEnd };

const CONVERSATION_SELECT = `c.conv_uid AS "convUid", c.chat_mode AS "chatMode", c.app_code AS "appCode",
  c.chat_param AS "chatParam", c.user_name AS "userName", c.sys_code AS "sysCode", c.owner_key AS "ownerKey", c.title, c.state, c.turns,
  c.created_at AS "createdAt", c.updated_at AS "updatedAt"`;

const RUN_SELECT = `r.id, r.turn, r.chat_mode AS "chatMode", r.team_mode AS "teamMode", r.model, r.input, r.answer,
  r.state, r.error, r.input_tokens AS "inputTokens", r.output_tokens AS "outputTokens", r.started_at AS "startedAt",
  r.finished_at AS "finishedAt"`;

const MESSAGE_SELECT = `m.run_id AS "runId", m.round, m.step_num AS "stepNum", m.sender, m.receiver, m.model, m.content,
  m.success, m.input_tokens AS "inputTokens", m.output_tokens AS "outputTokens", m.resource, m.created_at AS "createdAt"`;

const STEP_SELECT = `s.run_id AS "runId", s.num, s.title, s.agent, s.rely, s.state, s.retries, s.result, s.error`;

/** A conversation's title: the start of its first input. */
const titleOf = (input: string) => input.slice(0, 200);

const CONVERSATION_INSERT =
  'INSERT INTO conversations AS c (conv_uid, chat_mode, app_code, chat_param, user_name, sys_code, title, state, turns, owner_key)';

/** The row of a new conversation: at its first turn, running. */
const conversationValues = (s: SqlStatement, run: NewRun) =>
  `VALUES (${s.p(run.convUid)}, ${s.p(run.chatMode)}, ${s.p(run.appCode)}, ${s.p(run.chatParam)}, ${s.p(run.userName)}, ` +
  `${s.p(run.sysCode)}, ` +
  `${s.p(titleOf(run.input))}, 'running', 1, ${s.p(run.ownerKey)})`;

const RUN_INSERT =
  'INSERT INTO conversation_runs (id, conv_uid, turn, chat_mode, app_code, team_mode, model, input, state, instance_id)';

/** The columns of a new run, running, at turn `turn` (an SQL expression). */
const runValues = (s: SqlStatement, run: NewRun, turn: string) =>
  `${s.p(run.runId)}, ${s.p(run.convUid)}, ${turn}, ${s.p(run.chatMode)}, ${s.p(run.appCode)}, ${s.p(run.teamMode)}, ` +
  `${s.p(run.model)}, ${s.p(run.input)}, 'running', ${s.p(run.instanceId)}`;

/** Fails the steps still open of the runs in `runIds` (an SQL uuid[] expression): a run that did not complete. */
const failOpenSteps = (runIds: string) =>
  `UPDATE conversation_plan_steps SET state = 'failed', updated_at = now() WHERE run_id = ANY(${runIds}) AND state IN ('todo', 'running')`;

/**
 * Every statement on `conversations`, `conversation_runs`,
 * `conversation_messages` and `conversation_plan_steps`: plain SQL through
 * `Sql`, rows keyed by property, and the Postgres failures a caller can
 * cause turned into `ConversationsError`s. A run's writes go through a
 * `WriteBatcher`, which merges the writes of concurrent runs into one
 * statement under load.
 */
@Injectable()
export class RunsRepository {
  private readonly writes: WriteBatcher;

  constructor(private readonly sql: Sql) {
    // A write alone has one of a few texts (prepared: the run's last write stands between the answer and [DONE]).
    this.writes = new WriteBatcher((text, params, merged) =>
      (merged ? sql.query(text, params) : sql.prepared(text, params)).then(() => undefined),
    );
  }

  /**
   * Inserts a conversation the server just named (it cannot collide) and its
   * first run, in one statement, merged with other runs' writes under load.
   */
  openFresh(run: NewRun): Promise<void> {
    const s = new SqlStatement();
    s.parts.push(
      `${CONVERSATION_INSERT} ${conversationValues(s, run)}`,
      `${RUN_INSERT} VALUES (${runValues(s, run, '1')})`,
    );
    return this.translate(() => this.writes.write(s));
  }

  /**
   * Opens the next turn of a conversation (creating it when new) in one
   * statement: the upsert takes the conversation's row lock, moves it to the
   * next turn only when it belongs to this key, user, app (or datasource or
   * knowledge space) and mode and has
   * no run in progress, and the run row is inserted with that turn. False
   * when nothing was inserted (`find` then tells why).
   */
  startRun(run: NewRun): Promise<boolean> {
    return this.translate(async () => {
      const s = new SqlStatement();
      s.parts.push(
        `WITH conv AS (
           ${CONVERSATION_INSERT} ${conversationValues(s, run)}
           ON CONFLICT (conv_uid) DO UPDATE SET state = 'running', turns = c.turns + 1, updated_at = now(),
               chat_param = COALESCE(c.chat_param, EXCLUDED.chat_param)
             WHERE c.chat_mode = EXCLUDED.chat_mode AND c.app_code IS NOT DISTINCT FROM EXCLUDED.app_code
               AND (c.chat_param IS NULL OR c.chat_param IS NOT DISTINCT FROM EXCLUDED.chat_param)
               AND c.owner_key IS NOT DISTINCT FROM EXCLUDED.owner_key
               AND c.user_name IS NOT DISTINCT FROM EXCLUDED.user_name
               AND NOT (c.turns > 0 AND c.state = 'running')
           RETURNING c.turns)
         ${RUN_INSERT} SELECT ${runValues(s, run, 'conv.turns')} FROM conv RETURNING turn`,
      );
      return (await this.sql.prepared(s.sql, s.params)).length > 0;
    });
  }

  /**
   * Writes a batch of one run's writes in one statement (in the order
   * given), merged with other runs' writes under load. The batch must not
   * hold two writes of which one needs the other to have landed (an update
   * of a step in the same batch as the insert of its plan; the end of a run
   * that did not complete after updates of its steps): the parts of one
   * statement all see the rows as they were before it.
   */
  write(runId: string, convUid: string, batch: RunWrite[]): Promise<void> {
    const s = new SqlStatement();
    // A batch's messages go in one INSERT, so their ids follow the batch's order (the parts of a
    // statement of CTEs do not run in the order written).
    const messages = batch.flatMap((w) => (w.kind === 'message' ? [w.message] : []));
    if (messages.length) insertMessages(s, runId, messages);
    for (const w of batch) if (w.kind !== 'message') addWrite(s, runId, convUid, w);
    return this.writes.write(s);
  }

  /** The inputs and answers of a conversation's last `limit` completed turns, newest first. */
  history(convUid: string, limit: number): Promise<{ input: string; answer: string | null }[]> {
    return this.translate(() =>
      this.sql.prepared(
        `SELECT input, answer FROM conversation_runs WHERE conv_uid = $1 AND state = 'complete' ORDER BY turn DESC LIMIT $2`,
        [convUid, limit],
      ),
    );
  }

  /**
   * One page of conversations, last updated first, and the number the filter
   * matches (counted only when the page does not tell it: a full page, or
   * an empty one past the first).
   */
  page(filter: ConversationFilter, limit: number, offset: number): Promise<{ rows: ConversationRow[]; total: number }> {
    return this.translate(async () => {
      const params: unknown[] = [];
      const where: string[] = [];
      const add = (column: string, value: string | undefined) => {
        if (value !== undefined) where.push(`c.${column} = $${params.push(value)}`);
      };
      add('owner_key', filter.ownerKey);
      add('app_code', filter.appCode);
      add('user_name', filter.userName);
      const condition = where.length ? ` WHERE ${where.join(' AND ')}` : '';
      const rows = await this.sql.query<ConversationRow>(
        `SELECT ${CONVERSATION_SELECT} FROM conversations c${condition} ORDER BY c.updated_at DESC, c.conv_uid ASC` +
          ` LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, limit, offset],
      );
      const counted = rows.length === limit || (rows.length === 0 && offset > 0);
      const total = counted
        ? (await this.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM conversations c${condition}`, params))[0]
            .n
        : offset + rows.length;
      return { rows, total };
    });
  }

  /** One conversation, or undefined. */
  find(convUid: string): Promise<ConversationRow | undefined> {
    return this.translate(async () => {
      const rows = await this.sql.query<ConversationRow>(
        `SELECT ${CONVERSATION_SELECT} FROM conversations c WHERE c.conv_uid = $1`,
        [convUid],
      );
      return rows[0];
    });
  }

  /** A conversation's state and owner (a cheap read), or undefined. */
  state(convUid: string): Promise<{ state: RunState; ownerKey: string | null } | undefined> {
    return this.translate(async () => {
      const rows = await this.sql.query<{ state: RunState; ownerKey: string | null }>(
        'SELECT state, owner_key AS "ownerKey" FROM conversations WHERE conv_uid = $1',
        [convUid],
      );
      return rows[0];
    });
  }

  /** A conversation's latest run (its highest turn) with the conversation's owner, or undefined. */
  latestRun(convUid: string): Promise<(LatestRunRow & { ownerKey: string | null }) | undefined> {
    return this.translate(async () => {
      const rows = await this.sql.query<LatestRunRow & { ownerKey: string | null }>(
        `SELECT c.owner_key AS "ownerKey", r.id AS run_id, r.turn, r.state, r.answer, r.error, r.input_tokens,
                r.output_tokens, r.started_at, r.finished_at
         FROM conversations c JOIN conversation_runs r ON r.conv_uid = c.conv_uid
         WHERE c.conv_uid = $1 ORDER BY r.turn DESC LIMIT 1`,
        [convUid],
      );
      return rows[0];
    });
  }

  /** Every run of a conversation by turn, with their messages (by run, round, id) and plan steps (by run, number). */
  turns(convUid: string): Promise<ConversationTurns> {
    return this.translate(async () => {
      const runs = await this.sql.query<RunRow>(
        `SELECT ${RUN_SELECT} FROM conversation_runs r WHERE r.conv_uid = $1 ORDER BY r.turn ASC`,
        [convUid],
      );
      if (!runs.length) return { runs, messages: [], steps: [] };
      const ids = runs.map((r) => r.id);
      const [messages, steps] = await Promise.all([
        this.sql.query<MessageRow>(
          `SELECT ${MESSAGE_SELECT} FROM conversation_messages m WHERE m.run_id = ANY($1::uuid[])
           ORDER BY m.run_id ASC, m.round ASC, m.id ASC`,
          [ids],
        ),
        this.sql.query<PlanStepRow>(
          `SELECT ${STEP_SELECT} FROM conversation_plan_steps s WHERE s.run_id = ANY($1::uuid[])
           ORDER BY s.run_id ASC, s.num ASC`,
          [ids],
        ),
      ]);
      return { runs, messages, steps };
    });
  }

  /** Deletes a conversation with its runs, messages and steps; false when there is none. */
  remove(convUid: string): Promise<boolean> {
    return this.translate(
      async () =>
        (await this.sql.query('DELETE FROM conversations WHERE conv_uid = $1 RETURNING conv_uid', [convUid])).length >
        0,
    );
  }

  /** The processes, other than `instanceId`, that have runs left `running`. */
  async runningElsewhere(instanceId: string): Promise<string[]> {
    const rows = await this.sql.query<{ instanceId: string }>(
      `SELECT DISTINCT instance_id AS "instanceId" FROM conversation_runs WHERE state = 'running' AND instance_id <> $1`,
      [instanceId],
    );
    return rows.map((r) => r.instanceId);
  }

  /** Marks the `running` runs of process `instanceId` failed (see `failRuns`); how many there were. */
  failRunsOf(instanceId: string, reason: string): Promise<number> {
    return this.failRuns('instance_id = $1', instanceId, reason);
  }

  /** Marks those of the runs `runIds` still `running` failed (see `failRuns`); how many there were. */
  failRunsById(runIds: string[], reason: string): Promise<number> {
    return this.failRuns('id = ANY($1::uuid[])', runIds, reason);
  }

  /** Marks the `running` runs matching `where` (on `$1`) failed, with their open steps and conversations, in one transaction. */
  private failRuns(where: string, param: unknown, reason: string): Promise<number> {
    return this.sql.transaction(async (query) => {
      const runs = await query<{ id: string; convUid: string }>(
        `UPDATE conversation_runs SET state = 'failed', error = $2, finished_at = now()
         WHERE ${where} AND state = 'running' RETURNING id, conv_uid AS "convUid"`,
        [param, reason],
      );
      if (!runs.length) return 0;
      await query(failOpenSteps('$1::uuid[]'), [runs.map((r) => r.id)]);
      await query(
        `UPDATE conversations SET state = 'failed', updated_at = now() WHERE conv_uid = ANY($1) AND state = 'running'`,
        [runs.map((r) => r.convUid)],
      );
      return runs.length;
    });
  }

  /** Runs `work`, turning the Postgres failures a caller can cause into `ConversationsError`s. */
  private async translate<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      switch (pgError(e)?.code) {
        case PgCode.CharacterNotInRepertoire:
        case PgCode.UntranslatableCharacter:
          throw ConversationsError.nulInText();
      }
      throw e;
    }
  }
}

/** Adds the insert of run `runId`'s `messages`, in order, to `s`. */
function insertMessages(s: SqlStatement, runId: string, messages: MessageRecord[]): void {
  const rows = messages.map((m) => {
    const values = [
      s.p(runId, '::uuid'),
      s.p(m.round),
      s.p(m.stepNum),
      s.p(m.sender),
      s.p(m.receiver),
      s.p(m.model),
      s.p(m.content),
      s.p(m.success),
      s.p(m.usage?.inputTokens ?? 0),
      s.p(m.usage?.outputTokens ?? 0),
      m.resource === undefined ? 'NULL' : s.p(JSON.stringify(m.resource), '::jsonb'),
    ];
    return `(${values.join(', ')})`;
  });
  s.parts.push(
    `INSERT INTO conversation_messages (run_id, round, step_num, sender, receiver, model, content, success, input_tokens, output_tokens, resource) VALUES ${rows.join(', ')}`,
  );
}

/** Adds one write of run `runId` other than a message to `s`. */
function addWrite(s: SqlStatement, runId: string, convUid: string, w: Exclude<RunWrite, { kind: 'message' }>): void {
  const run = () => s.p(runId, '::uuid');
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
      if (e.state !== 'complete') s.parts.push(failOpenSteps(s.p([runId], '::uuid[]')));
      s.parts.push(
        `UPDATE conversations SET state = ${s.p(e.state)}, updated_at = now() WHERE conv_uid = ${s.p(convUid)}`,
      );
      return;
    }
  }
}
