import type { LlmPort, LlmRequest, StreamPart } from '@ensemble/llm';
import { lastValueFrom, take, toArray } from 'rxjs';
import { collectRun, testAgent, testApp } from '../testing/run-helpers';
import { playScenario, scenario } from '../testing/scenarios';
import { ScriptedLlm } from '../testing/scripted-llm';
import { runTeam } from './run-team';

const app = testApp('single_agent', [testAgent('AI Assistant')]);

describe('aborting a run', () => {
  it('mid-step: aborts the call in flight, starts no other, and ends with run-cancelled', async () => {
    const { events, llm } = await playScenario(scenario('auto_plan cancelled mid-step'));
    expect(llm.calls).toHaveLength(2);
    expect(llm.calls[1].signal?.aborted).toBe(true);
    expect(events.slice(-3)).toEqual([
      { type: 'token', num: 1, agent: 'AI Assistant', text: 'Fact ' },
      {
        type: 'message-done',
        num: 1,
        sender: 'AI Assistant',
        receiver: 'PlanManager',
        model: 'scripted-model',
        round: 2,
        content: 'Fact ',
        success: false,
      },
      { type: 'run-cancelled', usage: expect.objectContaining({ totalTokens: expect.any(Number) }) },
    ]);
    expect(events.filter((e) => e.type === 'run-cancelled')).toHaveLength(1);
  });

  it('stops at once even when the port ignores the signal', async () => {
    const hanging: LlmPort = {
      async *stream(): AsyncIterable<StreamPart> {
        yield { type: 'start', model: 'stuck' };
        await new Promise(() => undefined);
      },
      generate: () => new Promise(() => undefined),
    };
    const controller = new AbortController();
    const run = lastValueFrom(
      runTeam({ app, input: 'x', history: [], llm: hanging, signal: controller.signal }).pipe(toArray()),
    );
    setTimeout(() => controller.abort(), 10);
    const events = await run;
    expect(events.map((e) => e.type)).toEqual([
      'run-started',
      'plan-made',
      'step-started',
      'message-started',
      'message-done',
      'run-cancelled',
    ]);
  });

  it('makes no LLM call when the signal is already aborted', async () => {
    const llm = new ScriptedLlm(['never']);
    const controller = new AbortController();
    controller.abort();
    const events = await collectRun({ app, input: 'x', llm, signal: controller.signal });
    expect(llm.calls).toHaveLength(0);
    expect(events.map((e) => e.type)).toEqual(['run-started', 'plan-made', 'run-cancelled']);
  });

  it('aborts the run when the subscriber unsubscribes', async () => {
    const llm = new ScriptedLlm(['one two three four', 'never'], { tokenDelayMs: 5 });
    const signal = new AbortController().signal;
    const firstToken = await lastValueFrom(
      runTeam({ app, input: 'x', history: [], llm, signal }).pipe(take(5), toArray()),
    );
    expect(firstToken[4]).toMatchObject({ type: 'token', text: 'one ' });
    expect(llm.calls[0].signal?.aborted).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(llm.calls).toHaveLength(1);
    expect(signal.aborted).toBe(false);
  });

  it('is cold: each subscription is its own run', async () => {
    const llm = new ScriptedLlm((request: LlmRequest) => `echo ${request.messages.length}`);
    const run = runTeam({ app, input: 'x', history: [], llm, signal: new AbortController().signal });
    expect(llm.calls).toHaveLength(0);
    await lastValueFrom(run);
    await lastValueFrom(run);
    expect(llm.calls).toHaveLength(2);
  });
});
