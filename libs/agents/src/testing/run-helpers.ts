/** Small builders for tests of team runs: apps, agents, and running to the end. */
import { lastValueFrom, toArray } from 'rxjs';
import { runTeam } from '../team/run-team';
import type { AgentSpec, AppDefinition, TeamEvent, TeamMode, TeamRunInput } from '../types';

/** An agent detail with the default model strategy and no resources unless given. */
export function testAgent(agentName: string, extra: Partial<AgentSpec> = {}): AgentSpec {
  return { agentName, resources: [], promptTemplate: null, llmStrategy: { type: 'default' }, ...extra };
}

/** An app of `mode` over `agents`, English, no history bounds unless given. */
export function testApp(mode: TeamMode, agents: AgentSpec[], extra: Partial<AppDefinition> = {}): AppDefinition {
  return {
    appCode: 'app-1',
    appName: 'Test App',
    teamMode: mode,
    language: 'en',
    teamContext: null,
    agents,
    keepStartRounds: 0,
    keepEndRounds: 0,
    ...extra,
  };
}

/** Runs the team to its end and returns every event (`history` empty and a fresh signal unless given). */
export function collectRun(
  input: Omit<TeamRunInput, 'signal' | 'history'> & Partial<Pick<TeamRunInput, 'signal' | 'history'>>,
): Promise<TeamEvent[]> {
  const signal = input.signal ?? new AbortController().signal;
  return lastValueFrom(runTeam({ history: [], ...input, signal }).pipe(toArray()));
}
