import { parsePlan } from '../plan/parse-plan';
import { resourceLines } from '../prompt/prompt';
import type { AppResource, PlannedStep } from '../types';
import type { ActionResult, RoleProfile } from './role';

/** A team agent as the Planner sees it. */
export interface TeamMember {
  name: string;
  description: string;
  resources: readonly AppResource[];
  /** The tools the agent can call, one line each (the ToolExpert's). */
  tools?: readonly string[];
}

/** The internal role that turns the user's request into a plan over the team (auto_plan). */
export interface PlannerRole extends RoleProfile {
  readonly systemPrompt: string;
  /** The section of the system prompt that lists the team's agents and their resources. */
  teamSection(team: readonly TeamMember[]): string;
  /** The validated plan, or every problem found in the reply. */
  act(reply: string, agentNames: readonly string[]): ActionResult<PlannedStep[]>;
}

export const planner: PlannerRole = {
  name: 'Planner',
  description: "Breaks the user's request into steps and assigns each to one of the team's agents.",
  systemPrompt: [
    "You are the Planner. Your goal is to break the user's request into the fewest steps that the team's agents",
    'listed below can carry out without help from the user, and to assign each step to one agent.',
    '',
    'Constraints:',
    '- Use only the agents listed below, spelled exactly as listed; assign steps to agents, never to their tools.',
    '- An agent sees only its own step and the results of the steps it relies on, so write each step as a',
    '  complete, self-contained instruction.',
    '- Number the steps 1, 2, 3, … in order; a step may rely only on earlier steps.',
    '- Reply with the plan as a JSON array and nothing else, in this form:',
    '  [{"serial_number": 1, "agent": "<agent name>", "content": "<what the step does>", "rely": ""},',
    '   {"serial_number": 2, "agent": "<agent name>", "content": "<what the step does>", "rely": "1"}]',
    '  where "rely" lists the serial numbers of the steps whose results the step needs, comma-separated.',
  ].join('\n'),
  teamSection(team) {
    const agents = team.map((member) => {
      const resources = resourceLines(member.resources).map((line) => `  ${line}`);
      const tools = (member.tools ?? []).map((line) => `  - ${line}`);
      return [`- ${member.name}: ${member.description}`, ...resources, ...tools].join('\n');
    });
    return ["The team's agents (with the resources each can use):", ...agents].join('\n');
  },
  act: parsePlan,
};
