import { HUMAN } from '../names';
import { planManager, type StepResult } from '../roles/plan-manager';
import { datasourceNotes } from '../roles/data-scientist';
import { planner } from '../roles/planner';
import { summarizer } from '../roles/summarizer';
import { toolLines } from '../roles/tool-expert';
import { systemPrompt } from '../prompt/prompt';
import type { PlannedStep } from '../types';
import { runAttempts } from './attempts';
import type { RunContext } from './run-context';
import { retrieveKnowledge } from './knowledge';
import { RunFailure } from './run-errors';
import { attempts, runStep } from './step';
import { agentStep, agentSystemPrompt, resolveTeam, type TeamAgent } from './team';

/**
 * `auto_plan`: the Planner makes a plan over the team's agents (re-asked
 * with the problem on malformed output, up to `maxPlanRetries` times), then
 * the steps run in numeric order, which validation made a dependency order,
 * each on its agent with the results of the steps it relies on. A step names
 * its agent by role; with two details of one role the first is used.
 *
 * Who answers the user: when the last step's agent is the Summarizer, that
 * step (its messages go to `Human`) and its result is the answer; otherwise
 * every step reports to the PlanManager and the Summarizer then writes the
 * answer from all results (a message outside any step, `num` 0, to `Human`).
 *
 * Models: the Planner uses the first detail's strategy; the final summary the
 * team's Summarizer detail's (its prompt and resources too) if it has one,
 * else the first detail's.
 */
export async function runAutoPlan(run: RunContext): Promise<string> {
  const team = resolveTeam(run.app);
  const byName = new Map<string, TeamAgent>();
  for (const agent of team) if (!byName.has(agent.role.name)) byName.set(agent.role.name, agent);

  const steps = await makePlan(run, byName, team[0]);
  run.emit({ type: 'plan-made', steps });

  const last = steps[steps.length - 1];
  const lastAnswers = last.agent === summarizer.name;
  const results = new Map<number, StepResult>();
  for (const step of steps) {
    const receiver = step === last && lastAnswers ? HUMAN : planManager.name;
    const reliedOn = step.rely.map((num) => results.get(num) as StepResult);
    const task = planManager.stepTask(run.input, step, steps.length, reliedOn);
    const agent = byName.get(step.agent) as TeamAgent;
    const question = `${step.title}\n${run.input}`;
    const result = await runStep(run, agentStep(run, agent, step.num, receiver, task, question));
    results.set(step.num, { step, result });
  }
  if (lastAnswers) return (results.get(last.num) as StepResult).result;
  return summarize(run, team, [...results.values()]);
}

/** The Planner's turn; it plans with the first detail's model strategy. */
async function makePlan(run: RunContext, byName: Map<string, TeamAgent>, first: TeamAgent): Promise<PlannedStep[]> {
  const names = [...byName.keys()];
  const members = await Promise.all(
    [...byName.values()].map(async ({ role, spec }) => ({
      name: role.name,
      description:
        role.description +
        (await datasourceNotes({ ports: run.resources, resources: spec.resources, task: run.input })),
      resources: spec.resources,
      tools: await toolLines(run, spec.resources),
    })),
  );
  const system = systemPrompt(planner.systemPrompt, [], run.app.language, [planner.teamSection(members)]);
  const outcome = await runAttempts(run, {
    num: 0,
    sender: planner.name,
    receiver: planManager.name,
    messages: run.messages(system, run.input),
    strategy: first.spec.llmStrategy,
    act: (reply) => planner.act(reply, names),
    maxRetries: run.limits.maxPlanRetries,
    feedback: planManager.planFeedback,
  });
  if (!outcome.ok) {
    const tried = attempts(outcome.attempts);
    throw new RunFailure(`The Planner did not produce a valid plan after ${tried}: ${outcome.reason}`);
  }
  return outcome.value;
}

/** The final answer when the last step is not the Summarizer's. */
async function summarize(run: RunContext, team: TeamAgent[], results: StepResult[]): Promise<string> {
  const own = team.find((agent) => agent.role.name === summarizer.name);
  const agent = own ?? { role: summarizer, spec: { ...team[0].spec, resources: [], promptTemplate: null } };
  const knowledge = await retrieveKnowledge(run, 'The final summary', agent.spec.resources, run.input);
  const system = [agentSystemPrompt(agent, run.app.language), knowledge.section].filter(Boolean).join('\n\n');
  const outcome = await runAttempts(run, {
    num: 0,
    sender: summarizer.name,
    receiver: HUMAN,
    messages: run.messages(system, planManager.summaryTask(run.input, results)),
    resource: knowledge.references,
    strategy: agent.spec.llmStrategy,
    act: (reply) => summarizer.act(reply),
    maxRetries: run.limits.maxStepRetries,
    feedback: planManager.retryFeedback,
  });
  if (!outcome.ok) {
    throw new RunFailure(`The final summary failed after ${attempts(outcome.attempts)}: ${outcome.reason}`);
  }
  return outcome.value;
}
