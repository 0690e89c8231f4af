import type { ChatMessage, LlmPort, LlmRequest, LlmStrategy, Usage } from '@ensemble/llm';
import { trimHistory } from '../history';
import type { ResourcePorts } from '../ports';
import { chatMessages } from '../prompt/prompt';
import type { AppDefinition, HistoryTurn, TeamEvent, TeamRunInput, TeamRunOptions } from '../types';
import { RunCancelled, RunFailure } from './run-errors';

/** Defaults of `TeamRunOptions`. */
export const DEFAULT_RUN_OPTIONS = { maxPlanRetries: 3, maxStepRetries: 2, maxLlmCalls: 50 } as const;

type Limits = Required<Pick<TeamRunOptions, 'maxPlanRetries' | 'maxStepRetries' | 'maxLlmCalls'>>;

/**
 * The state of one run shared by its parts: the app, the user's input, the
 * trimmed history, the limits, the call budget, the message round counter
 * and the usage so far; `emit` publishes an event.
 */
export class RunContext {
  readonly app: AppDefinition;
  readonly input: string;
  readonly history: HistoryTurn[];
  readonly llm: LlmPort;
  /** Datasources, knowledge and tools the server gives this run (none when it gives none). */
  readonly resources: ResourcePorts;
  readonly limits: Limits;
  private readonly generation: Pick<LlmRequest, 'temperature' | 'maxTokens'>;
  private calls = 0;
  private rounds = 0;
  private readonly total: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };

  constructor(
    input: TeamRunInput,
    readonly signal: AbortSignal,
    readonly emit: (event: TeamEvent) => void,
  ) {
    const options = input.options ?? {};
    this.app = input.app;
    this.input = input.input;
    this.history = trimHistory(input.history, input.app.keepStartRounds, input.app.keepEndRounds);
    this.llm = input.llm;
    this.resources = input.resources ?? {};
    this.limits = {
      maxPlanRetries: nonNegative(options.maxPlanRetries, DEFAULT_RUN_OPTIONS.maxPlanRetries),
      maxStepRetries: nonNegative(options.maxStepRetries, DEFAULT_RUN_OPTIONS.maxStepRetries),
      maxLlmCalls: nonNegative(options.maxLlmCalls, DEFAULT_RUN_OPTIONS.maxLlmCalls),
    };
    this.generation = {
      ...(options.temperature !== undefined && { temperature: options.temperature }),
      ...(options.maxTokens !== undefined && { maxTokens: options.maxTokens }),
    };
  }

  /** Throws `RunCancelled` once the run's signal is aborted. */
  throwIfCancelled(): void {
    if (this.signal.aborted) throw new RunCancelled();
  }

  /** Takes one LLM call from the budget; throws when cancelled or when the budget is spent. */
  reserveCall(): void {
    this.throwIfCancelled();
    if (this.calls >= this.limits.maxLlmCalls) {
      throw new RunFailure(
        `The run needed more than ${this.limits.maxLlmCalls} LLM calls, the most one run may make (maxLlmCalls).`,
      );
    }
    this.calls++;
  }

  /** The round of the next message: 1, 2, … in the order messages start. */
  nextRound(): number {
    return ++this.rounds;
  }

  addUsage(usage: Usage | undefined): void {
    if (!usage) return;
    this.total.inputTokens += usage.inputTokens;
    this.total.outputTokens += usage.outputTokens;
    this.total.totalTokens += usage.totalTokens;
  }

  /** Usage summed over every call so far. */
  usage(): Usage {
    return { ...this.total };
  }

  /** System prompt, the trimmed history, then `user`. */
  messages(system: string, user: string): ChatMessage[] {
    return chatMessages(system, this.history, user);
  }

  /** A request to the port with the run's signal and generation settings. */
  request(messages: ChatMessage[], strategy: LlmStrategy): LlmRequest {
    return { messages, strategy, signal: this.signal, ...this.generation };
  }
}

function nonNegative(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? Math.max(0, Math.floor(value)) : fallback;
}
