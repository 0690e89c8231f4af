import { playScenario, scenario } from '../testing/scenarios';
import type { TeamEvent } from '../types';
import { IncrementalVisRenderer } from './incremental-vis-renderer';
import { parseVis, type VisBlock, type VisMessage, type VisPlanItem } from './parse-vis';
import { renderVis } from './render';

const eventsOf = async (name: string) => (await playScenario(scenario(name))).events;

function plansIn(block: VisBlock): VisPlanItem[] {
  if (block.tag !== 'agent-plans') throw new Error(`expected agent-plans, got ${block.tag}`);
  return block.items;
}

function messagesIn(block: VisBlock): VisMessage[] {
  if (block.tag !== 'agent-messages') throw new Error(`expected agent-messages, got ${block.tag}`);
  return block.items;
}

/** Messages as `sender→receiver: markdown` lines. */
const lines = (messages: { sender: string; receiver: string; markdown: string }[]) =>
  messages.map((m) => `${m.sender}→${m.receiver}: ${m.markdown}`);

describe('IncrementalVisRenderer layout', () => {
  it('auto_plan: Planner messages, then one plan item per step, then the summary', async () => {
    const blocks = parseVis(renderVis(await eventsOf('auto_plan code step then summary')));
    expect(blocks.map((b) => b.tag)).toEqual(['agent-messages', 'agent-plans', 'agent-messages']);
    const [planning, plans, summary] = blocks;
    expect(messagesIn(planning)).toEqual([
      expect.objectContaining({ sender: 'Planner', receiver: 'PlanManager', model: 'scripted-model', resource: null }),
    ]);
    expect(plansIn(plans).map(({ messages: _messages, markdown: _markdown, ...item }) => item)).toEqual([
      { name: 'Write the script', num: 1, agent: 'CodeEngineer', status: 'complete' },
    ]);
    expect(lines(messagesIn(summary))).toEqual(['Summarizer→Human: Here it is:\n```python\nprint("hi")\n```']);
  });

  it('auto_plan: items of a diamond in order, each with its own messages', async () => {
    const [, plans] = parseVis(renderVis(await eventsOf('auto_plan diamond')));
    expect(plansIn(plans).map((i) => [i.num, i.agent, i.status, lines(i.messages)])).toEqual([
      [1, 'AI Assistant', 'complete', ['AI Assistant→PlanManager: FACTS-1']],
      [2, 'CodeEngineer', 'complete', ['CodeEngineer→PlanManager: CODE-2 ```python\nprint("hi")\n```']],
      [3, 'AI Assistant', 'complete', ['AI Assistant→PlanManager: EXPLAIN-3']],
      [4, 'Summarizer', 'complete', ['Summarizer→Human: FINAL-4']],
    ]);
  });

  it('keeps a failed attempt as its own message, with the reason, before the retry', async () => {
    const [plans] = parseVis(renderVis(await eventsOf('single_agent empty answer retried')));
    expect(lines(plansIn(plans)[0].messages)).toEqual([
      'AI Assistant→Human:    ',
      'PlanManager→AI Assistant: Attempt 1 failed, retrying: the answer is empty',
      'AI Assistant→Human: Hi there!',
    ]);
  });

  it('a failed run closes the open item as failed with the reason visible', async () => {
    const blocks = parseVis(renderVis(await eventsOf('auto_plan step retries exhausted')));
    const [item] = plansIn(blocks[1]);
    expect(item.status).toBe('failed');
    expect(lines(item.messages).slice(-2)).toEqual([
      'PlanManager→CodeEngineer: Attempt 2 failed: the answer claims the code was run; the code cannot be executed here, only written',
      'PlanManager→Human: Run failed: Step 1 (CodeEngineer) failed after 2 attempts: the answer claims the code was run; the code cannot be executed here, only written',
    ]);
  });

  it('a failure outside any item is reported in a messages block', async () => {
    const budget = parseVis(renderVis(await eventsOf('auto_plan call budget exceeded')));
    expect(budget.map((b) => b.tag)).toEqual(['agent-messages', 'agent-plans', 'agent-messages']);
    expect(lines(messagesIn(budget[2]))).toEqual([
      'PlanManager→Human: Run failed: The run needed more than 2 LLM calls, the most one run may make (maxLlmCalls).',
    ]);
    const planner = parseVis(renderVis(await eventsOf('auto_plan planner retries exhausted')));
    expect(planner).toHaveLength(1);
    expect(lines(messagesIn(planner[0])).pop()).toMatch(/^PlanManager→Human: Run failed: The Planner did not produce/);
  });

  it('a cancelled run closes the open item as failed and says so', async () => {
    const [, plans] = parseVis(renderVis(await eventsOf('auto_plan cancelled mid-step')));
    expect(plansIn(plans).map((i) => [i.num, i.status, lines(i.messages)])).toEqual([
      [1, 'failed', ['AI Assistant→PlanManager: Fact ', 'PlanManager→Human: Run cancelled.']],
    ]);
  });

  it('snapshots show the open step running with the tokens so far', async () => {
    const events = await eventsOf('single_agent seed');
    const renderer = new IncrementalVisRenderer();
    const firstToken = events.findIndex((e) => e.type === 'token');
    for (const event of events.slice(0, firstToken + 1)) renderer.push(event);
    const [item] = plansIn(parseVis(renderer.snapshot())[0]);
    expect(item).toMatchObject({ name: 'Introduce AWEL', agent: 'Human', status: 'running' });
    expect(item.messages).toEqual([
      { sender: 'Summarizer', receiver: 'Human', model: 'scripted-model', markdown: 'AWEL ', resource: null },
    ]);
  });

  it('the document before any message is already a complete view for a single agent', () => {
    const renderer = new IncrementalVisRenderer();
    const start: TeamEvent = { type: 'run-started', mode: 'single_agent', input: 'Hi' };
    expect(renderer.push(start)).toBe(
      '```agent-plans\n[{"name":"Hi","num":1,"agent":"Human","markdown":"```agent-messages\\n[',
    );
    expect(renderer.snapshot()).toBe(
      '```agent-plans\n[{"name":"Hi","num":1,"agent":"Human","markdown":"```agent-messages\\n[]\\n```","status":"running"}]\n```',
    );
  });

  it('writes unicode as is, even for an emoji split across tokens', () => {
    const renderer = new IncrementalVisRenderer();
    const message = { num: 1, sender: 'Summarizer', receiver: 'Human', model: 'm', round: 1 };
    renderer.push({ type: 'run-started', mode: 'single_agent', input: '中文' });
    renderer.push({ type: 'message-started', ...message });
    expect(renderer.push({ type: 'token', num: 1, agent: 'Summarizer', text: 'é\ud83d' })).toBe('é');
    expect(renderer.push({ type: 'token', num: 1, agent: 'Summarizer', text: '\ude00"' })).toBe('😀\\\\\\"');
    expect(renderer.document()).toContain('"name":"中文"');
  });

  it('writes a high surrogate held back at the end of a message when the message closes', () => {
    const message = { num: 1, sender: 'Summarizer', receiver: 'Human', model: 'm', round: 1 };
    const closedBy: TeamEvent[] = [
      { type: 'message-done', ...message, content: 'ok\ud83d', success: true },
      { type: 'run-done', answer: 'ok\ud83d', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } },
    ];
    for (const close of closedBy) {
      const renderer = new IncrementalVisRenderer();
      renderer.push({ type: 'run-started', mode: 'single_agent', input: 'Hi' });
      renderer.push({ type: 'message-started', ...message });
      expect(renderer.push({ type: 'token', num: 1, agent: 'Summarizer', text: 'ok\ud83d' })).toBe('ok');
      // Never followed by its low half: written (escaped, as JSON.stringify does) when the message closes.
      expect(renderer.push(close).startsWith('\\\\ud83d\\",\\"resource\\":null}')).toBe(true);
      const [item] = plansIn(parseVis(renderer.snapshot())[0]);
      expect(messagesIn(parseVis(item.markdown)[0]).map((m) => m.markdown)).toEqual(['ok\ud83d']);
    }
  });
});
