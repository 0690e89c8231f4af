/**
 * Inputs and events of a team run. The Agents library knows nothing of HTTP
 * or the database: a run is a function of (app definition, input, history,
 * an LLM port, an AbortSignal) that emits these events.
 */
import type { LlmPort, LlmStrategy, Usage } from '@ensemble/llm';
import type { DbChart, ResourcePorts } from './ports';

export const TEAM_MODES = ['single_agent', 'auto_plan', 'awel_layout', 'native_app'] as const;
export type TeamMode = (typeof TEAM_MODES)[number];

export const LLM_STRATEGY_TYPES = ['default', 'priority'] as const;
export type LlmStrategyType = (typeof LLM_STRATEGY_TYPES)[number];

export interface AppResource {
  type: string;
  name: string;
  value: string;
  is_dynamic?: boolean;
}

/** One detail of an app: an agent role with its resources, prompt and model strategy. */
export interface AgentSpec {
  /** Role name as on the wire (`agent_name`), e.g. `Summarizer`. */
  agentName: string;
  resources: AppResource[];
  /** When set, replaces the role's system prompt. */
  promptTemplate?: string | null;
  llmStrategy: LlmStrategy;
}

export interface AppDefinition {
  appCode: string;
  appName: string;
  teamMode: TeamMode;
  language: string;
  /** For `native_app`: `{ chat_scene: 'chat_normal', ... }`; free-form otherwise. */
  teamContext?: string | Record<string, unknown> | null;
  agents: AgentSpec[];
  keepStartRounds: number;
  keepEndRounds: number;
}

/** One earlier turn of the conversation, oldest first. */
export interface HistoryTurn {
  user: string;
  assistant: string;
}

export interface TeamRunOptions {
  /** Re-asks of the Planner after malformed output. Default 3. */
  maxPlanRetries?: number;
  /** Retries of a failing step. Default 2. */
  maxStepRetries?: number;
  /** Upper bound on LLM calls in one run. Default 50. */
  maxLlmCalls?: number;
  /** Generation settings passed to every call. */
  temperature?: number;
  maxTokens?: number;
}

export interface TeamRunInput {
  app: AppDefinition;
  input: string;
  /** Earlier turns, untrimmed; the run trims them by the app's keep_*_rounds. */
  history: HistoryTurn[];
  llm: LlmPort;
  signal: AbortSignal;
  options?: TeamRunOptions;
  /** Datasources, knowledge and tools the team's resources name. */
  resources?: ResourcePorts;
}

export type StepState = 'todo' | 'running' | 'complete' | 'failed';

export interface PlannedStep {
  num: number;
  /** What the step must do (the plan's `content`). */
  title: string;
  agent: string;
  rely: number[];
}

/** One tool call of a step: who calls (`agent`), the tool (`receiver` is `<server>/<tool>`), its place among the run's messages (`round`). */
export interface ToolCall {
  num: number;
  agent: string;
  receiver: string;
  round: number;
  server: string;
  tool: string;
  args: Record<string, unknown>;
}

export type TeamEvent =
  | { type: 'run-started'; mode: TeamMode; input: string }
  | { type: 'plan-made'; steps: PlannedStep[] }
  | { type: 'step-started'; num: number; agent: string; attempt: number }
  /** A message begins: the model answering is known, tokens follow. */
  | {
      type: 'message-started';
      num: number;
      sender: string;
      receiver: string;
      model: string;
      round: number;
      /** What the message draws on (e.g. knowledge references), shown in its vis `resource` field. */
      resource?: unknown;
    }
  | { type: 'token'; num: number; agent: string; text: string }
  | {
      type: 'message-done';
      num: number;
      sender: string;
      receiver: string;
      model: string;
      round: number;
      content: string;
      success: boolean;
      usage?: Usage;
      /** As in `message-started`. */
      resource?: unknown;
    }
  /** A role's result drawn as a chart (a `vis-db-chart` item), after the message it acted on. */
  | { type: 'chart'; num: number; sender: string; receiver: string; chart: DbChart }
  | { type: 'step-done'; num: number; result: string }
  | { type: 'step-failed'; num: number; reason: string; retry: number; willRetry: boolean }
  /** A tool call begins (the ToolExpert). */
  | ({ type: 'tool-call-started' } & ToolCall)
  /** A tool call ended: `result` (Markdown) when it completed, `error` when it failed. */
  | ({ type: 'tool-call-done'; status: 'complete' | 'failed'; result: string; error: string | null } & ToolCall)
  | { type: 'run-done'; answer: string; usage: Usage }
  | { type: 'run-failed'; reason: string; usage: Usage }
  | { type: 'run-cancelled'; usage: Usage };
