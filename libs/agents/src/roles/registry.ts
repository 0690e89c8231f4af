/**
 * The role registry: the single source of the roles an app may name in
 * `agent_name`. The Apps module validates details with `isAssignableRole`;
 * the team runner looks roles up with `agentRole`. Adding a role is one file
 * in this folder and one line below. The internal `Planner` and `PlanManager`
 * are not listed: an app may not name them.
 */
import { aiAssistant } from './ai-assistant';
import { codeEngineer } from './code-engineer';
import { dataScientist } from './data-scientist';
import type { AgentRole } from './role';
import { summarizer } from './summarizer';
import { toolExpert } from './tool-expert';

const ROLES: readonly AgentRole[] = [summarizer, aiAssistant, codeEngineer, dataScientist, toolExpert];

/** Names of the roles an app may use, in registry order. */
export function assignableRoleNames(): string[] {
  return ROLES.map((role) => role.name);
}

/** Whether `name` is a role an app may use (exact, case-sensitive, as on the wire). */
export function isAssignableRole(name: string): boolean {
  return ROLES.some((role) => role.name === name);
}

/** The role named `name`, or undefined when no assignable role has that name. */
export function agentRole(name: string): AgentRole | undefined {
  return ROLES.find((role) => role.name === name);
}
