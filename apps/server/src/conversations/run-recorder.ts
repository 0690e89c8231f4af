import { Logger } from '@nestjs/common';
import type { TeamEvent } from '@ensemble/agents';
import type { Usage } from '@ensemble/llm';
import { DataSource, EntityManager } from 'typeorm';
import { ConversationEntity, RunState } from './entities/conversation.entity';
import { MessageEntity } from './entities/message.entity';
import { PlanStepEntity } from './entities/plan-step.entity';
import { RunEntity } from './entities/run.entity';

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
}

/**
 * Writes one run's rows as its events happen, in order, off the token hot
 * path: tokens are never written, each message, step change and the end
 * are. Writes are chained so they land in event order; a failed write is
 * logged and does not break the stream. `flush()` resolves when all landed.
 */
export class RunRecorder {
  private chain: Promise<void> = Promise.resolve();
  private ended = false;
  private finalState: Exclude<RunState, 'running'> | undefined;
  private readonly logger = new Logger('RunRecorder');

  constructor(
    private readonly db: DataSource,
    readonly runId: string,
    readonly convUid: string,
  ) {}

  /** Records a team event (tokens and message starts are ignored). */
  record(event: TeamEvent): void {
    switch (event.type) {
      case 'plan-made':
        return this.enqueue((em) =>
          em.insert(
            PlanStepEntity,
            event.steps.map((s) => ({ runId: this.runId, num: s.num, title: s.title, agent: s.agent, rely: s.rely, state: 'todo' as const })),
          ),
        );
      case 'step-started':
        return this.enqueue((em) => em.update(PlanStepEntity, { runId: this.runId, num: event.num }, { state: 'running', updatedAt: () => 'now()' }));
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
        });
      case 'step-done':
        return this.enqueue((em) =>
          em.update(PlanStepEntity, { runId: this.runId, num: event.num }, { state: 'complete', result: event.result, updatedAt: () => 'now()' }),
        );
      case 'step-failed':
        return this.enqueue((em) =>
          em.update(
            PlanStepEntity,
            { runId: this.runId, num: event.num },
            { state: event.willRetry ? 'running' : 'failed', retries: event.retry + 1, error: event.reason, updatedAt: () => 'now()' },
          ),
        );
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
    this.enqueue((em) =>
      em.insert(MessageEntity, {
        runId: this.runId,
        round: m.round,
        stepNum: m.stepNum,
        sender: m.sender,
        receiver: m.receiver,
        model: m.model,
        content: m.content,
        success: m.success,
        inputTokens: m.usage?.inputTokens ?? 0,
        outputTokens: m.usage?.outputTokens ?? 0,
      }),
    );
  }

  /** Ends the run once (later calls are ignored): run row, open steps, the conversation's state. */
  end(end: RunEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.finalState = end.state;
    this.enqueue((em) =>
      em.transaction(async (tx) => {
        await tx.update(RunEntity, { id: this.runId }, {
          state: end.state,
          answer: end.answer ?? null,
          error: end.error ?? null,
          inputTokens: end.usage?.inputTokens ?? 0,
          outputTokens: end.usage?.outputTokens ?? 0,
          ...(end.model ? { model: end.model } : {}),
          finishedAt: () => 'now()',
        });
        if (end.state !== 'complete') {
          await tx.query(
            `UPDATE conversation_plan_steps SET state = 'failed', updated_at = now() WHERE run_id = $1 AND state IN ('todo', 'running')`,
            [this.runId],
          );
        }
        await tx.update(ConversationEntity, { convUid: this.convUid }, { state: end.state, updatedAt: () => 'now()' });
      }),
    );
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  /** How the run ended; `cancelled` until it has. */
  get state(): Exclude<RunState, 'running'> {
    return this.finalState ?? 'cancelled';
  }

  /** Resolves once every write so far has landed (or failed and been logged). */
  flush(): Promise<void> {
    return this.chain;
  }

  private enqueue(write: (em: EntityManager) => Promise<unknown>): void {
    this.chain = this.chain.then(
      () => write(this.db.manager).then(() => undefined),
    ).catch((e: unknown) => {
      this.logger.error(`Could not record run ${this.runId}: ${(e as Error).message}`);
    });
  }
}
