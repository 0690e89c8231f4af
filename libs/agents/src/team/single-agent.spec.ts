import type { Usage } from '@ensemble/llm';
import { renderVis } from '../vis/render';
import { collectRun, testAgent, testApp } from '../testing/run-helpers';
import { playScenario, scenario } from '../testing/scenarios';
import { ScriptedLlm } from '../testing/scripted-llm';
import type { TeamEvent } from '../types';

const usage: Usage = { inputTokens: 10, outputTokens: 3, totalTokens: 13 };
const ofType = <T extends TeamEvent['type']>(events: TeamEvent[], type: T) =>
  events.filter((e): e is Extract<TeamEvent, { type: T }> => e.type === type);

describe('single_agent', () => {
  it('emits the exact event sequence for a Summarizer answer', async () => {
    const llm = new ScriptedLlm([{ text: 'AWEL is great.', model: 'chatgpt_proxyllm', usage }]);
    const events = await collectRun({
      app: testApp('single_agent', [testAgent('Summarizer')]),
      input: 'Introduce AWEL',
      llm,
    });
    const message = { num: 1, sender: 'Summarizer', receiver: 'Human', model: 'chatgpt_proxyllm', round: 1 };
    expect(events).toEqual([
      { type: 'run-started', mode: 'single_agent', input: 'Introduce AWEL' },
      { type: 'plan-made', steps: [{ num: 1, title: 'Introduce AWEL', agent: 'Summarizer', rely: [] }] },
      { type: 'step-started', num: 1, agent: 'Summarizer', attempt: 1 },
      { type: 'message-started', ...message },
      { type: 'token', num: 1, agent: 'Summarizer', text: 'AWEL ' },
      { type: 'token', num: 1, agent: 'Summarizer', text: 'is ' },
      { type: 'token', num: 1, agent: 'Summarizer', text: 'great.' },
      { type: 'message-done', ...message, content: 'AWEL is great.', success: true, usage },
      { type: 'step-done', num: 1, result: 'AWEL is great.' },
      { type: 'run-done', answer: 'AWEL is great.', usage },
    ]);
  });

  it('renders the seed example exactly', async () => {
    const llm = new ScriptedLlm([
      { text: 'AWEL is "Agentic Workflow Expression Language".', model: 'chatgpt_proxyllm' },
    ]);
    const events = await collectRun({
      app: testApp('single_agent', [testAgent('Summarizer')]),
      input: 'Introduce AWEL',
      llm,
    });
    expect(renderVis(events)).toBe(
      '```agent-plans\n' +
        '[{"name":"Introduce AWEL","num":1,"agent":"Human","markdown":"```agent-messages\\n' +
        '[{\\"sender\\":\\"Summarizer\\",\\"receiver\\":\\"Human\\",\\"model\\":\\"chatgpt_proxyllm\\",' +
        '\\"markdown\\":\\"AWEL is \\\\\\"Agentic Workflow Expression Language\\\\\\".\\",\\"resource\\":null}]\\n```",' +
        '"status":"complete"}]\n' +
        '```',
    );
  });

  it("builds the prompt from the role, resources, language and trimmed history, with the detail's strategy", async () => {
    const llm = new ScriptedLlm(['Answer']);
    const strategy = { type: 'priority' as const, models: ['gpt-4o', 'chatgpt_proxyllm'] };
    const resources = [{ type: 'text_file', name: 'awel-docs', value: 'AWEL docs space' }];
    const app = testApp('single_agent', [testAgent('Summarizer', { resources, llmStrategy: strategy })], {
      language: 'zh',
      keepStartRounds: 1,
      keepEndRounds: 1,
    });
    const history = ['1', '2', '3'].map((n) => ({ user: `q${n}`, assistant: `a${n}` }));
    await collectRun({ app, input: 'Now?', history, llm, options: { temperature: 0.2, maxTokens: 99 } });

    const [call] = llm.calls;
    expect(call.strategy).toEqual(strategy);
    expect(call).toMatchObject({ temperature: 0.2, maxTokens: 99 });
    expect(call.signal).toBeInstanceOf(AbortSignal);
    const [system, ...rest] = call.messages;
    expect(system.content).toMatch(/^You are the Summarizer\./);
    expect(system.content).toContain('- text_file "awel-docs": AWEL docs space');
    expect(system.content).toMatch(/Reply in Chinese\.$/);
    expect(rest).toEqual([
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q3' },
      { role: 'assistant', content: 'a3' },
      { role: 'user', content: 'Now?' },
    ]);
  });

  it("uses the detail's prompt template instead of the role's prompt", async () => {
    const llm = new ScriptedLlm(['Arr!']);
    const app = testApp('single_agent', [testAgent('AI Assistant', { promptTemplate: 'Talk like a pirate.' })]);
    await collectRun({ app, input: 'Hi', llm });
    expect(llm.calls[0].messages[0].content).toBe('Talk like a pirate.\n\nReply in English.');
  });

  it('retries an empty answer with the failure fed back', async () => {
    const { events, llm } = await playScenario(scenario('single_agent empty answer retried'));
    expect(ofType(events, 'step-failed')).toEqual([
      { type: 'step-failed', num: 1, reason: 'the answer is empty', retry: 0, willRetry: true },
    ]);
    expect(ofType(events, 'step-started').map((e) => e.attempt)).toEqual([1, 2]);
    expect(ofType(events, 'message-done').map((e) => [e.round, e.success])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(llm.calls[1].messages.slice(-2)).toEqual([
      { role: 'user', content: 'Hello' },
      {
        role: 'user',
        content: 'Your previous answer was not accepted: the answer is empty. Answer the task again and fix this.',
      },
    ]);
    expect(events[events.length - 1]).toMatchObject({ type: 'run-done', answer: 'Hi there!' });
  });

  it('does not retry an LLM error (the LLM port retries transport errors); the partial message ends unsuccessful', async () => {
    const { events, llm } = await playScenario(scenario('single_agent mid-stream error fails the step'));
    expect(llm.calls).toHaveLength(1);
    expect(ofType(events, 'message-done')).toEqual([expect.objectContaining({ content: 'Hi ', success: false })]);
    expect(ofType(events, 'step-failed')).toEqual([
      {
        type: 'step-failed',
        num: 1,
        reason: 'the LLM call failed (connection)',
        retry: 0,
        willRetry: false,
      },
    ]);
    expect(events[events.length - 1]).toEqual({
      type: 'run-failed',
      reason: 'Step 1 (AI Assistant) failed after 1 attempt: the LLM call failed (connection)',
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    });
  });

  it('fails at once on an error retrying cannot fix, naming the step', async () => {
    const { events, llm } = await playScenario(scenario('single_agent auth error fails at once'));
    expect(llm.calls).toHaveLength(1);
    expect(events.map((e) => e.type)).toEqual([
      'run-started',
      'plan-made',
      'step-started',
      'step-failed',
      'run-failed',
    ]);
    expect(events[3]).toEqual({
      type: 'step-failed',
      num: 1,
      reason: 'the LLM call failed (auth)',
      retry: 0,
      willRetry: false,
    });
    expect(events[4]).toEqual({
      type: 'run-failed',
      reason: 'Step 1 (AI Assistant) failed after 1 attempt: the LLM call failed (auth)',
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    });
  });

  it('sums usage over every call', async () => {
    const llm = new ScriptedLlm([
      { text: '', usage: { inputTokens: 5, outputTokens: 0, totalTokens: 5 } },
      { text: 'Ok', usage: { inputTokens: 7, outputTokens: 1, totalTokens: 8 } },
    ]);
    const events = await collectRun({ app: testApp('single_agent', [testAgent('AI Assistant')]), input: 'x', llm });
    expect(events[events.length - 1]).toEqual({
      type: 'run-done',
      answer: 'Ok',
      usage: { inputTokens: 12, outputTokens: 1, totalTokens: 13 },
    });
  });

  it('fails without calling the LLM when the app has no agents or an unknown role', async () => {
    const llm = new ScriptedLlm([]);
    const none = await collectRun({ app: testApp('single_agent', []), input: 'x', llm });
    expect(none[none.length - 1]).toMatchObject({
      type: 'run-failed',
      reason: 'The app "Test App" has no agents to run.',
    });
    const unknown = await collectRun({ app: testApp('single_agent', [testAgent('Planner')]), input: 'x', llm });
    expect(unknown[unknown.length - 1]).toMatchObject({
      type: 'run-failed',
      reason: 'The app "Test App" names an unknown agent role "Planner".',
    });
    expect(llm.calls).toHaveLength(0);
  });
});
