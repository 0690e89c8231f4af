/**
 * What a role is. A role is named by the wire value of `agent_name`, tells
 * the Planner in one line what it is good at, instructs the model with a
 * system prompt (goal and constraints), and judges the model's reply with its
 * action: a result to pass on, or the reason the reply is not acceptable
 * (the runner feeds that reason back to the model and retries).
 */

import type { DbChart, ResourcePorts } from '../ports';
import type { RunContext } from '../team/run-context';
import type { StepSpec } from '../team/step';
import type { AgentSpec, AppResource } from '../types';

/** The outcome of a role's action on one reply; a role that acts on data may attach a chart to its result. */
export type ActionResult<T = string> = { ok: true; value: T; chart?: DbChart } | { ok: false; reason: string };

/** What a role that acts on resources gets: the run's ports, its detail's resources, the step's task. */
export interface RoleContext {
  ports: ResourcePorts;
  resources: readonly AppResource[];
  /** The step's task (the user's question, or the plan step with its input). */
  task: string;
  signal: AbortSignal;
}

/** Name and one-line description: what every role, internal or not, has. */
export interface RoleProfile {
  /** The wire value of `agent_name`, e.g. `Summarizer`. */
  readonly name: string;
  /** One line the Planner sees when it assigns steps. */
  readonly description: string;
}

/** A role an app may name in its details: it talks to the model and acts on its reply. */
export interface AgentRole extends RoleProfile {
  /** Goal and constraints; replaced by a detail's `prompt_template` when set. */
  readonly systemPrompt: string;
  /** Turns the model's reply into the step's result, or says why it fails. */
  act(reply: string): ActionResult;
  /**
   * For roles that reach resources: a section added to the system prompt
   * before the step's first call (e.g. a datasource's schema), or the reason
   * the step cannot run.
   */
  prepare?(ctx: RoleContext): Promise<ActionResult>;
  /** For roles whose action is asynchronous (runs a query); used instead of `act`. */
  actWith?(reply: string, ctx: RoleContext): Promise<ActionResult>;
  /**
   * Optional: the role does its step itself instead of one checked answer
   * (e.g. calls tools between model turns), emitting the step's messages;
   * the result is the step's result or why the step failed.
   */
  perform?(run: RunContext, step: StepSpec, agent: AgentSpec): Promise<ActionResult>;
}

/** The action shared by roles whose only requirement is a non-empty answer. */
export function requireAnswer(reply: string): ActionResult {
  return reply.trim() ? { ok: true, value: reply } : { ok: false, reason: 'the answer is empty' };
}
