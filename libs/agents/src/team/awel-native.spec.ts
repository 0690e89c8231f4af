import { collectRun, testAgent, testApp } from '../testing/run-helpers';
import { playScenario, scenario } from '../testing/scenarios';
import { ScriptedLlm } from '../testing/scripted-llm';
import type { TeamEvent } from '../types';

/** Events without tokens, as `type num sender→receiver` lines, to read sequences at a glance. */
const outline = (events: TeamEvent[]) =>
  events
    .filter((e) => e.type !== 'token')
    .map((e) => {
      if (e.type === 'message-started') return `${e.type} ${e.num} ${e.sender}→${e.receiver} #${e.round}`;
      if (e.type === 'message-done') return `${e.type} ${e.num} ${e.success ? 'ok' : 'failed'}`;
      if (e.type === 'step-started') return `${e.type} ${e.num} ${e.agent} attempt ${e.attempt}`;
      if (e.type === 'step-done' || e.type === 'step-failed') return `${e.type} ${e.num}`;
      return e.type;
    });

describe('awel_layout', () => {
  it('runs the details in order, each output feeding the next, the last answering Human', async () => {
    const { events, llm } = await playScenario(scenario('awel_layout pipeline'));
    expect(outline(events)).toEqual([
      'run-started',
      'plan-made',
      'step-started 1 AI Assistant attempt 1',
      'message-started 1 AI Assistant→CodeEngineer #1',
      'message-done 1 ok',
      'step-done 1',
      'step-started 2 CodeEngineer attempt 1',
      'message-started 2 CodeEngineer→Summarizer #2',
      'message-done 2 ok',
      'step-done 2',
      'step-started 3 Summarizer attempt 1',
      'message-started 3 Summarizer→Human #3',
      'message-done 3 ok',
      'step-done 3',
      'run-done',
    ]);
    expect(events[1]).toEqual({
      type: 'plan-made',
      steps: [
        { num: 1, title: 'Greet the world', agent: 'AI Assistant', rely: [] },
        { num: 2, title: 'Greet the world', agent: 'CodeEngineer', rely: [1] },
        { num: 3, title: 'Greet the world', agent: 'Summarizer', rely: [2] },
      ],
    });
    const user = (call: number) => llm.calls[call].messages[llm.calls[call].messages.length - 1].content;
    expect(user(0)).toBe('Greet the world');
    expect(user(1)).toContain('The previous agent (AI Assistant) produced:\nIdea: print a greeting.');
    expect(user(2)).toContain('The previous agent (CodeEngineer) produced:\n```python\nprint("hi")\n```');
    expect(events[events.length - 1]).toMatchObject({ type: 'run-done', answer: 'A script that prints hi.' });
  });
});

describe('native_app', () => {
  it('is a plain chat sent by the app to Human', async () => {
    const { events, llm } = await playScenario(scenario('native_app chat_normal'));
    expect(outline(events)).toEqual([
      'run-started',
      'plan-made',
      'step-started 1 Chatty attempt 1',
      'message-started 1 Chatty→Human #1',
      'message-done 1 ok',
      'step-done 1',
      'run-done',
    ]);
    expect(llm.calls[0].strategy).toEqual({ type: 'default' });
    expect(llm.calls[0].messages[0].content).toMatch(/^You are an AI Assistant\./);
    expect(events[events.length - 1]).toMatchObject({ answer: 'Hello! How can I help?' });
  });

  it("uses the first detail's prompt template, resources and strategy", async () => {
    const llm = new ScriptedLlm(['Bonjour']);
    const strategy = { type: 'priority' as const, models: ['m'] };
    const detail = testAgent('AI Assistant', {
      promptTemplate: 'You are a French tutor.',
      resources: [{ type: 'text', name: 'rules', value: 'be kind' }],
      llmStrategy: strategy,
    });
    await collectRun({ app: testApp('native_app', [detail], { teamContext: 'chat_normal' }), input: 'Hi', llm });
    expect(llm.calls[0].strategy).toEqual(strategy);
    expect(llm.calls[0].messages[0].content).toBe(
      'You are a French tutor.\n\nResources you can use:\n- text "rules": be kind\n\nReply in English.',
    );
  });

  it('refuses a scene it cannot serve, without calling the LLM', async () => {
    const { events, llm } = await playScenario(scenario('native_app unsupported scene'));
    expect(llm.calls).toHaveLength(0);
    expect(events).toEqual([
      { type: 'run-started', mode: 'native_app', input: 'Hello' },
      {
        type: 'run-failed',
        reason: 'The chat scene "chat_excel" is not supported for native apps; supported: chat_normal, chat_knowledge.',
        usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      },
    ]);
  });
});
