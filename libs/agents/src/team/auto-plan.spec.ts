import type { Usage } from '@ensemble/llm';
import { collectRun, testAgent, testApp } from '../testing/run-helpers';
import { PLANS, playScenario, scenario } from '../testing/scenarios';
import { ScriptedLlm } from '../testing/scripted-llm';
import type { TeamEvent } from '../types';

const ofType = <T extends TeamEvent['type']>(events: TeamEvent[], type: T) =>
  events.filter((e): e is Extract<TeamEvent, { type: T }> => e.type === type);
const last = (events: TeamEvent[]) => events[events.length - 1];
const userMessage = (llm: ScriptedLlm, call: number) =>
  llm.calls[call].messages[llm.calls[call].messages.length - 1].content;
const TWO_STEPS = [
  { num: 1, title: 'List the facts', agent: 'AI Assistant', rely: [] },
  { num: 2, title: 'Summarise the facts', agent: 'Summarizer', rely: [1] },
];

describe('auto_plan', () => {
  it('emits the exact event sequence when the last step is the Summarizer', async () => {
    const u = (n: number): Usage => ({ inputTokens: n, outputTokens: 1, totalTokens: n + 1 });
    const llm = new ScriptedLlm([
      { tokens: [PLANS.twoSteps], model: 'planner-model', usage: u(10) },
      { text: 'Facts.', model: 'm1', usage: u(20) },
      { text: 'In short.', model: 'm2', usage: u(30) },
    ]);
    const app = testApp('auto_plan', [testAgent('AI Assistant'), testAgent('Summarizer')]);
    const events = await collectRun({ app, input: 'Tell me', llm });
    const planner = { num: 0, sender: 'Planner', receiver: 'PlanManager', model: 'planner-model', round: 1 };
    const step1 = { num: 1, sender: 'AI Assistant', receiver: 'PlanManager', model: 'm1', round: 2 };
    const step2 = { num: 2, sender: 'Summarizer', receiver: 'Human', model: 'm2', round: 3 };
    expect(events).toEqual([
      { type: 'run-started', mode: 'auto_plan', input: 'Tell me' },
      { type: 'message-started', ...planner },
      { type: 'token', num: 0, agent: 'Planner', text: PLANS.twoSteps },
      { type: 'message-done', ...planner, content: PLANS.twoSteps, success: true, usage: u(10) },
      { type: 'plan-made', steps: TWO_STEPS },
      { type: 'step-started', num: 1, agent: 'AI Assistant', attempt: 1 },
      { type: 'message-started', ...step1 },
      { type: 'token', num: 1, agent: 'AI Assistant', text: 'Facts.' },
      { type: 'message-done', ...step1, content: 'Facts.', success: true, usage: u(20) },
      { type: 'step-done', num: 1, result: 'Facts.' },
      { type: 'step-started', num: 2, agent: 'Summarizer', attempt: 1 },
      { type: 'message-started', ...step2 },
      { type: 'token', num: 2, agent: 'Summarizer', text: 'In ' },
      { type: 'token', num: 2, agent: 'Summarizer', text: 'short.' },
      { type: 'message-done', ...step2, content: 'In short.', success: true, usage: u(30) },
      { type: 'step-done', num: 2, result: 'In short.' },
      { type: 'run-done', answer: 'In short.', usage: { inputTokens: 60, outputTokens: 3, totalTokens: 63 } },
    ]);
  });

  it('has the Summarizer answer from every result when the last step is not a summary', async () => {
    const { events, llm } = await playScenario(scenario('auto_plan code step then summary'));
    const afterSteps = events.slice(events.findIndex((e) => e.type === 'step-done') + 1);
    expect(afterSteps.map((e) => e.type).filter((t) => t !== 'token')).toEqual([
      'message-started',
      'message-done',
      'run-done',
    ]);
    const messages = ofType(events, 'message-done').map((e) => [e.num, e.sender, e.receiver]);
    expect(messages).toEqual([
      [0, 'Planner', 'PlanManager'],
      [1, 'CodeEngineer', 'PlanManager'],
      [0, 'Summarizer', 'Human'],
    ]);
    expect(userMessage(llm, 2)).toContain('### Step 1 (CodeEngineer): Write the script\n```python\nprint("hi")\n```');
    expect(last(events)).toMatchObject({ type: 'run-done', answer: 'Here it is:\n```python\nprint("hi")\n```' });
  });

  it('runs a diamond in dependency order, each step seeing exactly the results it relies on', async () => {
    const { events, llm } = await playScenario(scenario('auto_plan diamond'));
    expect(ofType(events, 'plan-made')[0].steps.map((s) => s.rely)).toEqual([[], [1], [1], [2, 3]]);
    expect(ofType(events, 'step-started').map((e) => e.num)).toEqual([1, 2, 3, 4]);
    expect(userMessage(llm, 1)).toBe(
      "The user's request: Explain and code\n\nYour task (step 1 of 4): Collect the facts",
    );
    for (const call of [2, 3]) {
      expect(userMessage(llm, call)).toContain('### Step 1 (AI Assistant): Collect the facts\nFACTS-1');
    }
    const step4 = userMessage(llm, 4);
    expect(step4).toContain('Your task (step 4 of 4): Combine code and explanation');
    expect(step4).toContain('### Step 2 (CodeEngineer): Write the code\nCODE-2');
    expect(step4).toContain('### Step 3 (AI Assistant): Explain the facts\nEXPLAIN-3');
    expect(step4).not.toContain('FACTS-1');
    expect(llm.calls).toHaveLength(5);
    expect(last(events)).toMatchObject({ type: 'run-done', answer: 'FINAL-4' });
  });

  it("gives the Planner the team and the first detail's strategy, and each step its agent's", async () => {
    const first = { type: 'priority' as const, models: ['planner-first'] };
    const code = { type: 'priority' as const, models: ['coder'] };
    const llm = new ScriptedLlm([PLANS.codeOnly, '```sh\necho hi\n```', 'Summary']);
    const app = testApp('auto_plan', [
      testAgent('AI Assistant', { llmStrategy: first }),
      testAgent('CodeEngineer', { llmStrategy: code, resources: [{ type: 'tool', name: 'git', value: 'git cli' }] }),
    ]);
    await collectRun({ app, input: 'Greet', llm });
    expect(llm.calls.map((c) => c.strategy)).toEqual([first, code, first]);
    const plannerSystem = llm.calls[0].messages[0].content;
    expect(plannerSystem).toContain('- AI Assistant: General help');
    expect(plannerSystem).toContain('- CodeEngineer: Writes code');
    expect(plannerSystem).toContain('  - tool "git": git cli');
    expect(plannerSystem).not.toContain('- Summarizer');
  });

  it("uses the team's Summarizer detail for the final summary when it has one", async () => {
    const summary = { type: 'priority' as const, models: ['summary-model'] };
    const llm = new ScriptedLlm([PLANS.codeOnly, '```sh\necho hi\n```', 'Summary']);
    const app = testApp('auto_plan', [
      testAgent('CodeEngineer'),
      testAgent('Summarizer', { llmStrategy: summary, promptTemplate: 'Summarise tersely.' }),
    ]);
    await collectRun({ app, input: 'Greet', llm });
    expect(llm.calls[2].strategy).toEqual(summary);
    expect(llm.calls[2].messages[0].content).toBe('Summarise tersely.\n\nReply in English.');
  });

  describe('Planner output', () => {
    it.each(['auto_plan planner prose around JSON', 'auto_plan planner fenced JSON'])('accepts %s', async (name) => {
      const { events, llm } = await playScenario(scenario(name));
      expect(ofType(events, 'plan-made')[0].steps).toEqual(TWO_STEPS);
      expect(llm.calls).toHaveLength(3);
      expect(last(events)).toMatchObject({ type: 'run-done', answer: 'Summary.' });
    });

    it.each([
      [
        'auto_plan planner invalid JSON then valid',
        /^That plan is not valid: the plan is not valid JSON \(.+\)\. Reply/,
      ],
      [
        'auto_plan planner unknown agent then valid',
        /^That plan is not valid: step 1: unknown agent "DataScientist"; the team's agents are "AI Assistant", "CodeEngineer", "Summarizer"\. Reply with the corrected plan, as the JSON array only\.$/,
      ],
      [
        'auto_plan planner cycle then valid',
        /^That plan is not valid: steps 2 → 3 → 2 rely on each other in a cycle\. /,
      ],
    ])('re-asks after %s with the precise error', async (name, feedback) => {
      const { events, llm } = await playScenario(scenario(name));
      const replan = llm.calls[1].messages;
      const [rejected] = scenario(name).script as string[];
      expect(replan[replan.length - 2]).toEqual({ role: 'assistant', content: rejected });
      expect(replan[replan.length - 1].content).toMatch(feedback);
      const planner = ofType(events, 'message-done').filter((e) => e.sender === 'Planner');
      expect(planner.map((e) => [e.round, e.success])).toEqual([
        [1, false],
        [2, true],
      ]);
      expect(ofType(events, 'step-failed')).toEqual([]);
      expect(ofType(events, 'plan-made')[0].steps).toEqual(TWO_STEPS);
      expect(last(events)).toMatchObject({ type: 'run-done' });
    });

    it('fails the run with the last problem when the retries are spent', async () => {
      const { events, llm } = await playScenario(scenario('auto_plan planner retries exhausted'));
      expect(llm.calls).toHaveLength(3);
      expect(ofType(events, 'plan-made')).toEqual([]);
      expect(last(events)).toEqual({
        type: 'run-failed',
        reason:
          'The Planner did not produce a valid plan after 3 attempts: step 1: unknown agent "DataScientist"; ' +
          'the team\'s agents are "AI Assistant", "CodeEngineer", "Summarizer"',
        usage: expect.any(Object),
      });
    });
  });

  it('fails the run naming the step and the reason when its retries are spent', async () => {
    const { events, llm } = await playScenario(scenario('auto_plan step retries exhausted'));
    expect(llm.calls).toHaveLength(3);
    expect(ofType(events, 'step-failed')).toEqual([
      {
        type: 'step-failed',
        num: 1,
        reason: 'the answer has no fenced code block (```language ... ```)',
        retry: 0,
        willRetry: true,
      },
      {
        type: 'step-failed',
        num: 1,
        reason: 'the answer claims the code was run; the code cannot be executed here, only written',
        retry: 1,
        willRetry: false,
      },
    ]);
    expect(last(events)).toMatchObject({
      type: 'run-failed',
      reason:
        'Step 1 (CodeEngineer) failed after 2 attempts: the answer claims the code was run; the code cannot be executed here, only written',
    });
  });

  it('stops at maxLlmCalls with a clear reason', async () => {
    const { events, llm } = await playScenario(scenario('auto_plan call budget exceeded'));
    expect(llm.calls).toHaveLength(2);
    expect(events.slice(-2).map((e) => e.type)).toEqual(['step-done', 'run-failed']);
    expect(last(events)).toMatchObject({
      type: 'run-failed',
      reason: 'The run needed more than 2 LLM calls, the most one run may make (maxLlmCalls).',
    });
  });
});
