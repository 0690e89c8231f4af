import { collectRun, testAgent, testApp } from '../testing/run-helpers';
import { MEMORY_TOOL_RESOURCE, MemoryTools } from '../testing/memory-tools';
import { playScenario, scenario } from '../testing/scenarios';
import { ScriptedLlm } from '../testing/scripted-llm';
import type { TeamEvent } from '../types';
import { MAX_TOOL_CALLS_PER_STEP, toolExpert } from './tool-expert';

const ofType = <T extends TeamEvent['type']>(events: TeamEvent[], type: T) =>
  events.filter((e): e is Extract<TeamEvent, { type: T }> => e.type === type);
const call = (tool: string, args: unknown) => JSON.stringify({ thought: `use ${tool}`, tool_name: tool, args });
const agent = () => testAgent('ToolExpert', { resources: [MEMORY_TOOL_RESOURCE] });

describe('ToolExpert', () => {
  it('parses decisions tolerantly and says what is wrong', () => {
    expect(toolExpert.parseDecision('Sure: {"thought":"t","tool_name":" add ","args":"{\\"a\\":1}"} ok')).toEqual({
      ok: true,
      value: { kind: 'call', thought: 't', tool: 'add', args: { a: 1 } },
    });
    expect(toolExpert.parseDecision('{"tool_name":"echo"}')).toEqual({
      ok: true,
      value: { kind: 'call', thought: '', tool: 'echo', args: {} },
    });
    expect(toolExpert.parseDecision('```json\n{"thought":"t","answer":"42"}\n```')).toEqual({
      ok: true,
      value: { kind: 'answer', thought: 't', answer: '42' },
    });
    expect(toolExpert.parseDecision('{"tool_name":"add","args":[1]}')).toEqual({
      ok: false,
      reason: '"args" must be a JSON object of the tool\'s arguments',
    });
    const none = toolExpert.parseDecision('no json here');
    expect(none.ok).toBe(false);
    expect(!none.ok && none.reason).toMatch(/^the reply is not the JSON object asked for/);
    expect(toolExpert.parseDecision('{"thought":"hmm"}')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/names no tool and gives no answer/),
    });
  });

  it('calls a tool and answers with what it returned (single_agent)', async () => {
    const { events, llm } = await playScenario(scenario('single_agent ToolExpert adds'));
    const call = {
      num: 1,
      agent: 'ToolExpert',
      receiver: 'mem/add',
      round: 2,
      server: 'mem',
      tool: 'add',
      args: { a: 2, b: 3 },
    };
    expect(ofType(events, 'tool-call-started')).toEqual([{ type: 'tool-call-started', ...call }]);
    expect(ofType(events, 'tool-call-done')).toEqual([
      { type: 'tool-call-done', ...call, status: 'complete', result: '5', error: null },
    ]);
    expect(events[events.length - 1]).toMatchObject({ type: 'run-done', answer: '2 + 3 = 5' });
    expect(llm.calls[0].messages[0].content).toContain('- add: Adds two numbers.\n  input schema: {"type":"object"');
    expect(llm.calls[1].messages[llm.calls[1].messages.length - 1].content).toMatch(/^The tool add returned:\n5\n\n/);
  });

  it('feeds back a malformed reply, schema-invalid arguments, an unknown tool and a failed call', async () => {
    const { events, llm } = await playScenario(
      scenario('single_agent ToolExpert fixes its arguments, an unknown tool and a failing tool'),
    );
    const done = ofType(events, 'tool-call-done').map((e) => [e.tool, e.status, e.error]);
    expect(done).toEqual([
      ['add', 'failed', 'the arguments do not match the input schema: a and b must be numbers'],
      ['fail', 'failed', 'the tool reported an error'],
      ['add', 'complete', null],
    ]);
    const lastUser = (i: number) => llm.calls[i].messages[llm.calls[i].messages.length - 1].content;
    expect(lastUser(1)).toMatch(/^Your previous answer was not accepted: the reply is not the JSON object asked for/);
    expect(lastUser(2)).toMatch(
      /^The call of add failed: the arguments do not match the input schema: a and b must be numbers\n\nFix the call/,
    );
    expect(lastUser(3)).toMatch(/^There is no tool "multiply"; the tools you can call are: echo, add, fail, sleep\./);
    expect(lastUser(4)).toMatch(/^The call of fail failed: the tool reported an error/);
    expect(events[events.length - 1]).toMatchObject({ type: 'run-done', answer: 'It is 5 — "quoted" 😀' });
  });

  it('stops a call in flight when the run is cancelled', async () => {
    const s = scenario('single_agent ToolExpert cancelled mid-call');
    const tools = new MemoryTools();
    const { events } = await playScenario({ ...s, resources: () => ({ tools }) });
    expect(ofType(events, 'tool-call-done')).toMatchObject([
      { tool: 'sleep', status: 'failed', error: 'the call was cancelled' },
    ]);
    expect(events[events.length - 1].type).toBe('run-cancelled');
  });

  it('bounds the calls of one step', async () => {
    const script = Array.from({ length: MAX_TOOL_CALLS_PER_STEP + 1 }, () => call('echo', { text: 'again' }));
    const events = await collectRun({
      app: testApp('single_agent', [agent()]),
      input: 'loop',
      llm: new ScriptedLlm(script),
      resources: { tools: new MemoryTools() },
    });
    expect(ofType(events, 'tool-call-done')).toHaveLength(MAX_TOOL_CALLS_PER_STEP);
    expect(events[events.length - 1]).toMatchObject({
      type: 'run-failed',
      reason: `Step 1 (ToolExpert) failed: it asked for more than ${MAX_TOOL_CALLS_PER_STEP} tool calls in one step`,
    });
  });

  it('fails its step with a clear reason without a tools port or without tools', async () => {
    const run = (resources: ConstructorParameters<typeof Object>[0], detail = agent()) =>
      collectRun({ app: testApp('single_agent', [detail]), input: 'x', llm: new ScriptedLlm([]), resources });
    expect((await run(undefined)).pop()).toMatchObject({
      type: 'run-failed',
      reason: 'Step 1 (ToolExpert) failed: the ToolExpert cannot reach any tool server in this run',
    });
    expect((await run({ tools: new MemoryTools() }, testAgent('ToolExpert'))).pop()).toMatchObject({
      type: 'run-failed',
      reason: expect.stringMatching(/the ToolExpert has no tools/),
    });
  });

  it("shows the Planner each agent's tools; a plan naming a tool is refused", async () => {
    const { llm, events } = await playScenario(scenario('auto_plan ToolExpert then Summarizer'));
    const system = llm.calls[0].messages[0].content;
    expect(system).toContain('- ToolExpert: ');
    expect(system).toContain('  - tool echo: Returns the text.');
    expect(system).toContain('never to their tools');
    expect(events[events.length - 1]).toMatchObject({ type: 'run-done', answer: 'It echoed hello.' });
    const refused = await collectRun({
      app: testApp('auto_plan', [agent(), testAgent('Summarizer')]),
      input: 'x',
      llm: new ScriptedLlm([JSON.stringify([{ serial_number: 1, agent: 'echo', content: 'x', rely: '' }])]),
      options: { maxPlanRetries: 0 },
      resources: { tools: new MemoryTools() },
    });
    expect(refused[refused.length - 1]).toMatchObject({ type: 'run-failed', reason: expect.stringMatching(/echo/) });
  });
});
