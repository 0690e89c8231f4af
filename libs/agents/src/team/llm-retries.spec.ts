import { DEFAULT_STRATEGY_OPTIONS, LlmService, ModelRegistry, OpenAICompatibleModel } from '@ensemble/llm';
import { startFakeOpenAI, type FakeOpenAI } from '../../../../test/support/fake-openai';
import { collectRun, testAgent, testApp } from '../testing/run-helpers';
import type { TeamEvent } from '../types';
import { DEFAULT_RUN_OPTIONS } from './run-context';

/** Transport errors are retried in one layer, the LLM service; the team retries only rejected replies. */
describe('retries of a step whose model fails', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  const llmService = (retries?: number) => {
    const warnings: string[] = [];
    const model = new OpenAICompatibleModel({ name: 'gpt', model: 'gpt-4o-mini', baseUrl: fake.url, apiKey: 'sk-x' });
    const llm = new LlmService(ModelRegistry.fromModels([model]), {
      retries,
      baseDelayMs: 1,
      logger: { warn: (message: string) => warnings.push(message) },
    });
    return { llm, warnings };
  };
  const runStep = (llm: LlmService) =>
    collectRun({ app: testApp('single_agent', [testAgent('AI Assistant')]), input: 'Hello', llm });
  const ofType = <T extends TeamEvent['type']>(events: TeamEvent[], type: T) =>
    events.filter((e): e is Extract<TeamEvent, { type: T }> => e.type === type);

  it('with the defaults, a model answering 503 is called 1 + the LLM retries times, the step once', async () => {
    expect(DEFAULT_STRATEGY_OPTIONS.retries).toBe(1);
    expect(DEFAULT_RUN_OPTIONS.maxStepRetries).toBe(2);
    fake.setHandler(() => ({ status: 503 }));
    const { llm, warnings } = llmService();

    const events = await runStep(llm);

    expect(fake.chatRequests).toHaveLength(2);
    expect(warnings).toEqual(['model "gpt": the upstream answered 503: fake-openai error 503; retrying in 1 ms']);
    expect(ofType(events, 'step-started')).toHaveLength(1);
    expect(ofType(events, 'step-failed')).toEqual([
      {
        type: 'step-failed',
        num: 1,
        reason: 'the LLM call to "gpt" failed (upstream, HTTP 503)',
        retry: 0,
        willRetry: false,
      },
    ]);
    expect(events[events.length - 1].type).toBe('run-failed');
  });

  it.each([0, 3])('with %i LLM retries, makes exactly that many calls after the first', async (retries) => {
    fake.setHandler(() => ({ status: 503 }));

    await runStep(llmService(retries).llm);

    expect(fake.chatRequests).toHaveLength(retries + 1);
  });

  it('answers the step when a retry of the LLM service succeeds', async () => {
    fake.enqueue({ status: 503 }, { text: 'Hi there!' });

    const events = await runStep(llmService().llm);

    expect(fake.chatRequests).toHaveLength(2);
    expect(ofType(events, 'step-failed')).toEqual([]);
    expect(events[events.length - 1]).toMatchObject({ type: 'run-done', answer: 'Hi there!' });
  });
});
