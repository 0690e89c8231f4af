import { HUMAN } from '../names';
import type { RunContext } from './run-context';
import { runStep } from './step';
import { agentStep, resolveTeam } from './team';

/**
 * `single_agent`: the first detail's agent answers the user in one step
 * (plan: one step titled with the input). Other details are not used.
 */
export async function runSingleAgent(run: RunContext): Promise<string> {
  const [agent] = resolveTeam(run.app);
  run.emit({ type: 'plan-made', steps: [{ num: 1, title: run.input, agent: agent.role.name, rely: [] }] });
  return runStep(run, agentStep(run, agent, 1, HUMAN, run.input));
}
