import { HUMAN } from '../names';
import { planManager } from '../roles/plan-manager';
import type { PlannedStep } from '../types';
import type { RunContext } from './run-context';
import { runStep } from './step';
import { agentStep, resolveTeam } from './team';

/**
 * `awel_layout`: the details run in order as a pipeline. Step i is detail i,
 * titled with the input and relying on step i-1; the first gets the input,
 * each next one the input and the previous output; each message goes to the
 * next agent and the last one to `Human`, whose output is the answer.
 */
export async function runAwelLayout(run: RunContext): Promise<string> {
  const team = resolveTeam(run.app);
  const steps: PlannedStep[] = team.map((agent, i) => ({
    num: i + 1,
    title: run.input,
    agent: agent.role.name,
    rely: i === 0 ? [] : [i],
  }));
  run.emit({ type: 'plan-made', steps });
  let output = '';
  for (const [i, agent] of team.entries()) {
    const receiver = team[i + 1]?.role.name ?? HUMAN;
    const task = i === 0 ? run.input : planManager.pipelineTask(run.input, team[i - 1].role.name, output);
    output = await runStep(run, agentStep(run, agent, i + 1, receiver, task));
  }
  return output;
}
