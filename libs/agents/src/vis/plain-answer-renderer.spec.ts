import { playScenario, scenario } from '../testing/scenarios';
import type { TeamEvent } from '../types';
import { PlainAnswerRenderer } from './plain-answer-renderer';
import { renderPlain } from './render';

const plainOf = async (name: string) => renderPlain((await playScenario(scenario(name))).events);

describe('PlainAnswerRenderer', () => {
  it('streams the tokens of the message that answers Human', async () => {
    const { events } = await playScenario(scenario('single_agent seed'));
    const renderer = new PlainAnswerRenderer();
    const deltas = events.map((e) => renderer.push(e));
    expect(deltas.filter(Boolean)).toEqual([
      'AWEL ',
      'is ',
      'the ',
      'Agentic ',
      'Workflow ',
      'Expression ',
      'Language.',
    ]);
    expect(renderer.snapshot()).toBe(renderer.document());
  });

  it('leaves out the Planner and the steps that report to the PlanManager', async () => {
    expect(await plainOf('auto_plan diamond')).toBe('FINAL-4');
    expect(await plainOf('auto_plan code step then summary')).toBe('Here it is:\n```python\nprint("hi")\n```');
    expect(await plainOf('awel_layout pipeline')).toBe('A script that prints hi.');
  });

  it('marks a rejected answer that was already streamed before its retry', async () => {
    expect(await plainOf('single_agent empty answer retried')).toBe(
      '   \n\n(The answer above was rejected; retrying.)\n\nHi there!',
    );
  });

  it('keeps the text streamed before an LLM error, then says the run failed', async () => {
    expect(await plainOf('single_agent mid-stream error fails the step')).toBe(
      'Hi \n\nRun failed: Step 1 (AI Assistant) failed after 1 attempt: the LLM call failed (connection)',
    );
  });

  it('says when the run failed or was cancelled', async () => {
    expect(await plainOf('single_agent auth error fails at once')).toBe(
      'Run failed: Step 1 (AI Assistant) failed after 1 attempt: the LLM call failed (auth)',
    );
    expect(await plainOf('auto_plan cancelled mid-step')).toBe('Run cancelled.');
  });

  it('appends the answer at run-done when no message answered Human', () => {
    const events: TeamEvent[] = [
      { type: 'run-started', mode: 'single_agent', input: 'x' },
      { type: 'run-done', answer: 'Done.', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } },
    ];
    expect(renderPlain(events)).toBe('Done.');
  });
});
