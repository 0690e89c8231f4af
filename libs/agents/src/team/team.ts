import { basePrompt, systemPrompt } from '../prompt/prompt';
import { agentRole } from '../roles/registry';
import type { AgentRole } from '../roles/role';
import type { AgentSpec, AppDefinition } from '../types';
import type { RunContext } from './run-context';
import { RunFailure } from './run-errors';
import type { StepSpec } from './step';

/** An app detail with its role. */
export interface TeamAgent {
  spec: AgentSpec;
  role: AgentRole;
}

/** The app's details with their roles, in order; fails the run when there are none or a role is unknown. */
export function resolveTeam(app: AppDefinition): TeamAgent[] {
  if (app.agents.length === 0) throw new RunFailure(`The app "${app.appName}" has no agents to run.`);
  return app.agents.map((spec) => {
    const role = agentRole(spec.agentName);
    if (!role) throw new RunFailure(`The app "${app.appName}" names an unknown agent role "${spec.agentName}".`);
    return { spec, role };
  });
}

/** The agent's system prompt: its role's (or the detail's template), its resources, the app language. */
export function agentSystemPrompt(agent: TeamAgent, language: string): string {
  return systemPrompt(basePrompt(agent.role.systemPrompt, agent.spec.promptTemplate), agent.spec.resources, language);
}

/** A step done by a team agent: its prompt, its model strategy and its role's action. */
export function agentStep(
  run: RunContext,
  agent: TeamAgent,
  num: number,
  receiver: string,
  task: string,
  question?: string,
): StepSpec {
  const { role } = agent;
  const ctx = () => ({ ports: run.resources, resources: agent.spec.resources, task, signal: run.signal });
  const step: StepSpec = {
    num,
    agent: agent.role.name,
    receiver,
    system: agentSystemPrompt(agent, run.app.language),
    task,
    strategy: agent.spec.llmStrategy,
    act: role.actWith ? (reply) => role.actWith!(reply, ctx()) : (reply) => role.act(reply),
    ...(role.prepare && { prepare: () => role.prepare!(ctx()) }),
    resources: agent.spec.resources,
    question,
  };
  return role.perform ? { ...step, perform: () => role.perform!(run, step, agent.spec) } : step;
}
