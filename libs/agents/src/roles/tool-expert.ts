import type { ChatMessage } from '@ensemble/llm';
import { extractJson } from '../plan/extract-json';
import type { ToolSpec } from '../ports/tools';
import { runAttempts } from '../team/attempts';
import type { RunContext } from '../team/run-context';
import type { StepSpec } from '../team/step';
import type { AppResource } from '../types';
import { planManager } from './plan-manager';
import type { ActionResult, AgentRole } from './role';

/** Tool calls one step may make before the model must answer (DB-GPT issue #2779: no endless loops). */
export const MAX_TOOL_CALLS_PER_STEP = 5;

/** What the model decided: call a tool, or answer the step. */
export type ToolDecision =
  | { kind: 'call'; thought: string; tool: string; args: Record<string, unknown> }
  | { kind: 'answer'; thought: string; answer: string };

const FORMAT =
  'Reply with one JSON object and nothing else: {"thought": "<why>", "tool_name": "<tool>", "args": {<arguments>}} ' +
  'to call a tool, or {"thought": "<why>", "answer": "<your answer to the task>"} when the task is done.';

/**
 * Calls MCP tools to carry out its step (DB-GPT's LuBan): the model answers
 * `{thought, tool_name, args}`, Ensemble checks and makes the call and feeds
 * the result back, until the model answers `{thought, answer}` (bounded by
 * `MAX_TOOL_CALLS_PER_STEP`). An unknown tool, arguments that do not match
 * the tool's schema and a tool's error are fed back, not fatal.
 */
export const toolExpert: AgentRole & {
  parseDecision(reply: string): ActionResult<ToolDecision>;
  toolsSection(tools: readonly ToolSpec[]): string;
} = {
  name: 'ToolExpert',
  description: 'Uses the tools listed with it (MCP) to look things up or act, and reports what they returned.',
  systemPrompt: [
    'You are the ToolExpert. Your goal is to carry out your task by calling the tools listed below, one call at a',
    'time, and then to answer with what they returned.',
    '',
    'Constraints:',
    '- Call only the tools listed below, by their exact name, with arguments that match their input schema.',
    '- After each call you see its result; call another tool if the task needs it, otherwise answer.',
    "- Base your answer on the tools' results; never invent a result.",
    `- ${FORMAT}`,
  ].join('\n'),
  act: (reply) => {
    const decision = toolExpert.parseDecision(reply);
    return decision.ok ? { ok: true, value: reply } : decision;
  },
  parseDecision(reply) {
    const found = extractJson(reply);
    const value = found.ok ? found.value : undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, reason: `the reply is not the JSON object asked for. ${FORMAT}` };
    }
    const record = value as Record<string, unknown>;
    const thought = typeof record.thought === 'string' ? record.thought : '';
    const tool = record.tool_name;
    if (typeof tool === 'string' && tool.trim()) {
      const args = typeof record.args === 'string' ? parseObject(record.args) : (record.args ?? {});
      if (typeof args !== 'object' || args === null || Array.isArray(args)) {
        return { ok: false, reason: '"args" must be a JSON object of the tool\'s arguments' };
      }
      return { ok: true, value: { kind: 'call', thought, tool: tool.trim(), args: args as Record<string, unknown> } };
    }
    if (typeof record.answer === 'string' && record.answer.trim()) {
      return { ok: true, value: { kind: 'answer', thought, answer: record.answer } };
    }
    return { ok: false, reason: `the reply names no tool and gives no answer. ${FORMAT}` };
  },
  toolsSection(tools) {
    const lines = tools.map(
      (t) => `- ${t.name}: ${t.description || '(no description)'}\n  input schema: ${JSON.stringify(t.inputSchema)}`,
    );
    return ['Tools you can call:', ...lines].join('\n');
  },
  perform: performToolStep,
};

/** The tools an agent's resources give it, for the Planner: one line each, never to be assigned to. */
export async function toolLines(run: RunContext, resources: readonly AppResource[]): Promise<string[]> {
  const port = run.resources.tools;
  if (!port || !resources.some((r) => r.type.startsWith('tool('))) return [];
  const tools = await port.toolsFor(resources).catch(() => []);
  return tools.map((t) => `tool ${t.name}: ${t.description || '(no description)'}`);
}

async function performToolStep(
  run: RunContext,
  step: StepSpec,
  agent: { resources: AppResource[] },
): Promise<ActionResult> {
  const port = run.resources.tools;
  if (!port) return { ok: false, reason: 'the ToolExpert cannot reach any tool server in this run' };
  let tools: ToolSpec[];
  try {
    tools = await port.toolsFor(agent.resources);
  } catch (error) {
    return { ok: false, reason: `its tools could not be listed (${(error as Error).message})` };
  }
  if (tools.length === 0) {
    return { ok: false, reason: 'the ToolExpert has no tools: give it a tool(mcp) resource naming a tool server' };
  }
  let messages: ChatMessage[] = run.messages(`${step.system}\n\n${toolExpert.toolsSection(tools)}`, step.task);
  for (let calls = 0; ; ) {
    const decided = await runAttempts(run, {
      num: step.num,
      sender: step.agent,
      // Its replies are calls for Ensemble to make, not the answer: the step's result goes on as usual.
      receiver: planManager.name,
      messages,
      strategy: step.strategy,
      act: (reply) => {
        const decision = toolExpert.parseDecision(reply);
        return decision.ok ? { ok: true, value: { reply, decision: decision.value } } : decision;
      },
      maxRetries: run.limits.maxStepRetries,
      feedback: planManager.retryFeedback,
    });
    if (!decided.ok) return { ok: false, reason: decided.reason };
    const { reply, decision } = decided.value;
    if (decision.kind === 'answer') return { ok: true, value: decision.answer };
    if (calls >= MAX_TOOL_CALLS_PER_STEP) {
      return { ok: false, reason: `it asked for more than ${MAX_TOOL_CALLS_PER_STEP} tool calls in one step` };
    }
    calls++;
    const feedback = await callTool(run, step, tools, decision, calls);
    messages = [...messages, { role: 'assistant', content: reply }, { role: 'user', content: feedback }];
  }
}

/** Makes one call (or explains why not) and returns what to tell the model about it. */
async function callTool(
  run: RunContext,
  step: StepSpec,
  tools: readonly ToolSpec[],
  decision: Extract<ToolDecision, { kind: 'call' }>,
  calls: number,
): Promise<string> {
  const tool = tools.find((t) => t.name === decision.tool);
  const left =
    calls < MAX_TOOL_CALLS_PER_STEP
      ? `Call another tool if the task needs it, otherwise answer. ${FORMAT}`
      : `That was the last tool call this step may make: answer now with {"thought": "...", "answer": "..."}.`;
  if (!tool) {
    const names = tools.map((t) => t.name).join(', ');
    return `There is no tool "${decision.tool}"; the tools you can call are: ${names}. ${left}`;
  }
  const port = run.resources.tools!;
  const call = {
    num: step.num,
    agent: step.agent,
    receiver: `${tool.server}/${tool.name}`,
    round: run.nextRound(),
    server: tool.server,
    tool: tool.name,
    args: decision.args,
  };
  run.emit({ type: 'tool-call-started', ...call });
  const outcome = await (
    run.signal.aborted
      ? Promise.resolve({ status: 'failed' as const, error: 'the call was cancelled', result: undefined })
      : port.call(tool, decision.args, run.signal)
  ).catch((error: unknown) => ({
    status: 'failed' as const,
    error: error instanceof Error ? error.message : String(error),
    result: undefined,
  }));
  const done =
    outcome.status === 'complete'
      ? { status: 'complete' as const, result: outcome.result, error: null }
      : { status: 'failed' as const, result: outcome.result ?? '', error: outcome.error };
  run.emit({ type: 'tool-call-done', ...call, ...done });
  run.throwIfCancelled();
  if (done.status === 'complete') return `The tool ${tool.name} returned:\n${done.result}\n\n${left}`;
  return `The call of ${tool.name} failed: ${done.error}\n\nFix the call or try another way. ${left}`;
}

function parseObject(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
