import type { PlannedStep } from '../types';
import type { RoleProfile } from './role';

/** A finished step and its result. */
export interface StepResult {
  step: PlannedStep;
  result: string;
}

/**
 * The internal role that runs a plan: it hands each step to its agent with
 * the results the step relies on, judges replies through the agents'
 * actions, feeds failures back, and asks for the final summary. It never
 * calls the model itself; its "replies" are the messages below.
 */
export const planManager = {
  name: 'PlanManager',
  description: 'Runs the plan: hands each step to its agent, checks the results and retries failures.',

  /** The message that assigns a plan step to its agent. */
  stepTask(input: string, step: PlannedStep, total: number, reliedOn: readonly StepResult[]): string {
    const parts = [`The user's request: ${input}`, `Your task (step ${step.num} of ${total}): ${step.title}`];
    if (reliedOn.length > 0) {
      parts.push(['Results of the steps this task relies on:', ...reliedOn.map(section)].join('\n\n'));
    }
    return parts.join('\n\n');
  },

  /** The message for a pipeline stage: the request and the previous stage's output (awel_layout). */
  pipelineTask(input: string, previousAgent: string, previousOutput: string): string {
    return [
      `The user's request: ${input}`,
      `The previous agent (${previousAgent}) produced:\n${previousOutput}`,
      "Continue from it to serve the user's request.",
    ].join('\n\n');
  },

  /** The message asking the Summarizer for the final answer from every step's result. */
  summaryTask(input: string, results: readonly StepResult[]): string {
    return [
      `The user's request: ${input}`,
      ['The team completed these steps:', ...results.map(section)].join('\n\n'),
      "Write the final answer to the user's request from these results: short, complete, and keeping any code exactly.",
    ].join('\n\n');
  },

  /** Fed back to an agent whose reply its role's action rejected. */
  retryFeedback(this: void, reason: string): string {
    return `Your previous answer was not accepted: ${reason}. Answer the task again and fix this.`;
  },

  /** Fed back to the Planner when its plan does not parse or validate. */
  planFeedback(this: void, reason: string): string {
    return `That plan is not valid: ${reason}. Reply with the corrected plan, as the JSON array only.`;
  },
} satisfies RoleProfile & Record<string, unknown>;

function section({ step, result }: StepResult): string {
  return `### Step ${step.num} (${step.agent}): ${step.title}\n${result}`;
}
