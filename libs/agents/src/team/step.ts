import type { LlmStrategy } from '@ensemble/llm';
import { planManager } from '../roles/plan-manager';
import type { ActionResult } from '../roles/role';
import type { AppResource } from '../types';
import { retrieveKnowledge } from './knowledge';
import { runAttempts } from './attempts';
import type { RunContext } from './run-context';
import { RunFailure } from './run-errors';

/** One plan step as the runner executes it. */
export interface StepSpec {
  num: number;
  /** The agent doing the step: the sender of its messages. */
  agent: string;
  receiver: string;
  system: string;
  /** The user message that states the task. */
  task: string;
  strategy: LlmStrategy;
  act: (reply: string) => ActionResult | Promise<ActionResult>;
  /** A system prompt section to fetch before the first call (a role's `prepare`), or why the step cannot run. */
  prepare?: () => Promise<ActionResult>;
  /** Set when the agent's role does the step itself (see `AgentRole.perform`); one attempt, no retry. */
  perform?: () => Promise<ActionResult>;
  /** The agent's resources; `knowledge` ones retrieve passages for `question` before the step's call. */
  resources?: readonly AppResource[];
  /** What to retrieve for; the run's input when unset. */
  question?: string;
}

/**
 * Runs a plan step with retries and emits its lifecycle: `step-started` per
 * attempt, `step-failed` per failed attempt, `step-done` with the result.
 * When the retries are spent the run fails naming the step and the reason.
 */
export async function runStep(run: RunContext, step: StepSpec): Promise<string> {
  const { num, agent } = step;
  if (step.perform) return performStep(run, step, step.perform);
  const prepared = await preparedSystem(run, step);
  const knowledge = await retrieveKnowledge(
    run,
    `Step ${num} (${agent})`,
    step.resources ?? [],
    step.question ?? run.input,
  );
  const system = knowledge.section ? `${prepared}\n\n${knowledge.section}` : prepared;
  const outcome = await runAttempts(run, {
    num,
    sender: agent,
    receiver: step.receiver,
    messages: run.messages(system, step.task),
    resource: knowledge.references,
    strategy: step.strategy,
    act: step.act,
    maxRetries: run.limits.maxStepRetries,
    feedback: planManager.retryFeedback,
    onAttempt: (attempt) => run.emit({ type: 'step-started', num, agent, attempt }),
    onFailure: (reason, retry, willRetry) => run.emit({ type: 'step-failed', num, reason, retry, willRetry }),
  });
  if (!outcome.ok) {
    throw new RunFailure(`Step ${num} (${agent}) failed after ${attempts(outcome.attempts)}: ${outcome.reason}`);
  }
  if (outcome.chart) run.emit({ type: 'chart', num, sender: agent, receiver: step.receiver, chart: outcome.chart });
  run.emit({ type: 'step-done', num, result: outcome.value });
  return outcome.value;
}

/** A step its role does itself: started, then done or failed (its own retries are the role's). */
async function performStep(run: RunContext, step: StepSpec, perform: () => Promise<ActionResult>): Promise<string> {
  const { num, agent } = step;
  run.emit({ type: 'step-started', num, agent, attempt: 1 });
  const outcome = await perform();
  if (!outcome.ok) {
    run.emit({ type: 'step-failed', num, reason: outcome.reason, retry: 0, willRetry: false });
    throw new RunFailure(`Step ${num} (${agent}) failed: ${outcome.reason}`);
  }
  run.emit({ type: 'step-done', num, result: outcome.value });
  return outcome.value;
}

/** The step's system prompt with its prepared section; a preparation that fails fails the step (no retry). */
async function preparedSystem(run: RunContext, step: StepSpec): Promise<string> {
  if (!step.prepare) return step.system;
  const prepared = await step.prepare();
  run.throwIfCancelled();
  if (prepared.ok) return prepared.value ? `${step.system}\n\n${prepared.value}` : step.system;
  run.emit({ type: 'step-started', num: step.num, agent: step.agent, attempt: 1 });
  run.emit({ type: 'step-failed', num: step.num, reason: prepared.reason, retry: 0, willRetry: false });
  throw new RunFailure(`Step ${step.num} (${step.agent}) cannot run: ${prepared.reason}`);
}

/** `1 attempt`, `3 attempts`. */
export function attempts(count: number): string {
  return `${count} attempt${count === 1 ? '' : 's'}`;
}
