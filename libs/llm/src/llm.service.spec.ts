import { closedPort, drain, drainBatches, errorOf, textOf } from './testing/stream-parts';
import { startFakeOpenAI, type FakeOpenAI } from '../../../test/support/fake-openai';
import { LlmError } from './errors';
import { LlmService, type LlmServiceOptions } from './llm.service';
import type { LanguageModel, LlmRequest, StreamPart } from './port';
import { createScriptedModel } from './providers/offline';
import { OpenAICompatibleModel } from './providers/openai-compatible';
import { ModelRegistry } from './registry';

const messages: LlmRequest['messages'] = [{ role: 'user', content: 'hello there' }];

const starts = (parts: StreamPart[]) => parts.filter((p) => p.type === 'start');
describe('LlmService', () => {
  let primary: FakeOpenAI;
  let backup: FakeOpenAI;
  let warnings: string[];

  const upstream = (name: string, fake: FakeOpenAI, timeoutMs?: number) =>
    new OpenAICompatibleModel({ name, model: `${name}-upstream`, baseUrl: fake.url, apiKey: 'sk-test', timeoutMs });

  /** `gpt-4o` on the primary fake, `backup` on the other; `gpt-4o` is the default. */
  const service = (options: LlmServiceOptions = {}, models?: LanguageModel[]) =>
    new LlmService(ModelRegistry.fromModels(models ?? [upstream('gpt-4o', primary), upstream('backup', backup)]), {
      retries: 0,
      baseDelayMs: 1,
      logger: { warn: (message: string) => warnings.push(message) },
      ...options,
    });

  beforeAll(async () => {
    [primary, backup] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
    primary.setHandler(() => 'from primary');
    backup.setHandler(() => 'from backup');
  });
  beforeEach(() => {
    warnings = [];
  });
  afterEach(() => {
    primary.reset();
    backup.reset();
    primary.setHandler(() => 'from primary');
    backup.setHandler(() => 'from backup');
  });
  afterAll(() => Promise.all([primary.close(), backup.close()]));

  describe('model resolution', () => {
    it('uses the registry default without a strategy', async () => {
      const parts = await drain(service().stream({ messages }));

      expect(parts[0]).toEqual({ type: 'start', model: 'gpt-4o' });
      expect(textOf(parts)).toBe('from primary');
      expect(parts[parts.length - 1]).toMatchObject({ type: 'finish', finishReason: 'stop' });
      expect(primary.chatRequests[0].body?.model).toBe('gpt-4o-upstream');
    });

    it('lets an explicit model win over the strategy', async () => {
      const result = await service().generate({
        messages,
        model: 'backup',
        strategy: { type: 'priority', models: ['gpt-4o'] },
      });

      expect(result).toMatchObject({ model: 'backup', text: 'from backup' });
      expect(primary.chatRequests).toHaveLength(0);
    });

    it('rejects an unknown explicit model with unknown_model', async () => {
      const parts = await drain(service().stream({ messages, model: 'gpt-5' }));

      expect(parts).toHaveLength(1);
      expect(errorOf(parts)).toMatchObject({ code: 'unknown_model', model: 'gpt-5' });
      expect(errorOf(parts).message).toContain('"gpt-5"');
    });

    it('takes the first configured model of a priority list, by exact name', async () => {
      const parts = await drain(
        service().stream({ messages, strategy: { type: 'priority', models: ['gpt-4', 'backup', 'gpt-4o'] } }),
      );

      expect(starts(parts)).toEqual([{ type: 'start', model: 'backup' }]);
      expect(primary.chatRequests).toHaveLength(0);
    });

    it('fails with no_model_available naming the list when none is configured', async () => {
      const parts = await drain(
        service().stream({ messages, strategy: { type: 'priority', models: ['gpt-4', 'claude'] } }),
      );

      expect(errorOf(parts)).toMatchObject({ code: 'no_model_available' });
      expect(errorOf(parts).message).toContain('gpt-4, claude');
      expect(primary.chatRequests).toHaveLength(0);
    });

    it('treats an empty priority list as the default strategy', async () => {
      const result = await service().generate({ messages, strategy: { type: 'priority', models: [' '] } });

      expect(result.model).toBe('gpt-4o');
    });
  });

  describe('batches', () => {
    it("passes the answering model's batches on, its start in the first", async () => {
      primary.enqueue({ tokens: ['x', 'y'], burst: true });

      const batches = await drainBatches(service().stream({ messages }));

      expect(batches).toHaveLength(1);
      expect(batches[0].map((p) => p.type)).toEqual(['start', 'text-delta', 'text-delta', 'finish']);
      expect(batches[0][0]).toEqual({ type: 'start', model: 'gpt-4o' });
    });

    it('gives a model without batches one part per batch, the same parts as stream()', async () => {
      const model = createScriptedModel('scripted', ['one two three']);
      const batched = await drainBatches(service({}, [model]).stream({ messages }));
      const parts = await drain(service({}, [createScriptedModel('scripted', ['one two three'])]).stream({ messages }));

      // The service's start goes with the first part it answered with.
      expect(batched.map((b) => b.filter((p) => p.type !== 'start').length).every((n) => n === 1)).toBe(true);
      expect(batched[0][0]).toEqual({ type: 'start', model: 'scripted' });
      expect(batched.flat()).toEqual(parts);
      expect(textOf(parts)).toBe('one two three');
    });

    it('falls back on a failure in the first batch and keeps the batches of the model that answered', async () => {
      primary.enqueue({ status: 503 });
      backup.enqueue({ tokens: ['b1', 'b2'], burst: true });

      const batches = await drainBatches(
        service().stream({ messages, strategy: { type: 'priority', models: ['gpt-4o', 'backup'] } }),
      );

      expect(batches).toHaveLength(1);
      expect(batches[0][0]).toEqual({ type: 'start', model: 'backup' });
      expect(textOf([...batches[0]])).toBe('b1b2');
    });
  });

  describe('fallback', () => {
    const priority = { type: 'priority' as const, models: ['gpt-4o', 'backup'] };

    it('moves to the next model on a 5xx, and the start part names the model that answered', async () => {
      primary.enqueue({ status: 500 });

      const parts = await drain(service().stream({ messages, strategy: priority }));

      expect(starts(parts)).toEqual([{ type: 'start', model: 'backup' }]);
      expect(parts[0].type).toBe('start');
      expect(textOf(parts)).toBe('from backup');
      expect(warnings).toEqual([expect.stringContaining('falling back to model "backup"')]);
    });

    it('moves to the next model when the first refuses connections', async () => {
      const port = await closedPort();
      const dead = new OpenAICompatibleModel({
        name: 'gpt-4o',
        model: 'x',
        baseUrl: `http://127.0.0.1:${port}/v1`,
        apiKey: 'k',
      });

      const result = await service({}, [dead, upstream('backup', backup)]).generate({ messages, strategy: priority });

      expect(result).toMatchObject({ model: 'backup', text: 'from backup' });
    });

    it('moves to the next model on rate limit, timeout and auth errors', async () => {
      const slow = upstream('gpt-4o', primary, 100);
      primary.enqueue({ status: 429 }, { text: 'late', firstTokenDelayMs: 10_000 }, { status: 401 });

      const svc = service({}, [slow, upstream('backup', backup)]);
      const answeredBy = [];
      for (let i = 0; i < 3; i++) answeredBy.push((await svc.generate({ messages, strategy: priority })).model);

      expect(answeredBy).toEqual(['backup', 'backup', 'backup']);
      expect(primary.chatRequests).toHaveLength(3);
    });

    it('never falls back after the first token: the error is passed on', async () => {
      primary.enqueue({ tokens: ['partial ', 'answer ', 'lost'], cutAfterTokens: 2 });

      const parts = await drain(service({ retries: 3 }).stream({ messages, strategy: priority }));

      expect(parts.map((p) => p.type)).toEqual(['start', 'text-delta', 'text-delta', 'error']);
      expect(starts(parts)).toEqual([{ type: 'start', model: 'gpt-4o' }]);
      expect(textOf(parts)).toBe('partial answer ');
      expect(errorOf(parts)).toMatchObject({ code: 'connection', model: 'gpt-4o' });
      expect(primary.chatRequests).toHaveLength(1);
      expect(backup.chatRequests).toHaveLength(0);
    });

    it('never falls back or retries on a bad request', async () => {
      primary.enqueue({ status: 400, errorBody: { error: { message: 'messages: invalid role' } } });

      const parts = await drain(service({ retries: 3 }).stream({ messages, strategy: priority }));

      expect(parts).toHaveLength(1);
      expect(errorOf(parts)).toMatchObject({ code: 'bad_request', status: 400 });
      expect(errorOf(parts).message).toContain('messages: invalid role');
      expect(primary.chatRequests).toHaveLength(1);
      expect(backup.chatRequests).toHaveLength(0);
    });

    it('never falls back on a context overflow', async () => {
      primary.enqueue({ status: 400, errorBody: { error: { message: 'too long', code: 'context_length_exceeded' } } });

      await expect(service().generate({ messages, strategy: priority })).rejects.toMatchObject({
        code: 'context_length',
      });
      expect(backup.chatRequests).toHaveLength(0);
    });

    it('reports every failure when no model answers', async () => {
      primary.enqueue({ status: 500 });
      backup.enqueue({ status: 503 });

      const error = await service()
        .generate({ messages, strategy: priority })
        .then(
          () => Promise.reject(new Error('expected a failure')),
          (e: LlmError) => e,
        );

      expect(error).toBeInstanceOf(LlmError);
      expect(error).toMatchObject({ code: 'upstream', status: 503, model: 'backup' });
      expect(error.message).toMatch(/^no model answered: model "gpt-4o": .*500.*; model "backup": .*503/);
    });
  });

  describe('retries', () => {
    it('retries the same model with exponential backoff, a bounded number of times', async () => {
      primary.setHandler(() => ({ status: 502 }));
      const started = Date.now();

      const parts = await drain(service({ retries: 2, baseDelayMs: 40 }).stream({ messages }));

      expect(errorOf(parts)).toMatchObject({ code: 'upstream', status: 502 });
      expect(primary.chatRequests).toHaveLength(3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(40 + 80 - 10);
      expect(warnings).toEqual([
        expect.stringContaining('retrying in 40 ms'),
        expect.stringContaining('retrying in 80 ms'),
      ]);
    });

    it('answers from the same model when a retry succeeds', async () => {
      primary.enqueue({ status: 500 });

      const parts = await drain(service({ retries: 1 }).stream({ messages }));

      expect(starts(parts)).toEqual([{ type: 'start', model: 'gpt-4o' }]);
      expect(textOf(parts)).toBe('from primary');
      expect(primary.chatRequests).toHaveLength(2);
    });

    it('waits as long as retry-after asks', async () => {
      primary.enqueue({ status: 429, headers: { 'retry-after-ms': '150' } });
      const started = Date.now();

      await service({ retries: 1 }).generate({ messages });

      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(warnings).toEqual([expect.stringContaining('retrying in 150 ms')]);
    });

    it('moves on instead of waiting when retry-after exceeds the cap', async () => {
      primary.enqueue({ status: 429, headers: { 'retry-after': '60' } });

      const result = await service({ retries: 3, maxDelayMs: 1000 }).generate({
        messages,
        strategy: { type: 'priority', models: ['gpt-4o', 'backup'] },
      });

      expect(result.model).toBe('backup');
      expect(primary.chatRequests).toHaveLength(1);
    });

    it('does not retry an auth error on the same model', async () => {
      primary.enqueue({ status: 401 });

      await expect(service({ retries: 3 }).generate({ messages })).rejects.toMatchObject({ code: 'auth' });
      expect(primary.chatRequests).toHaveLength(1);
    });

    it('cuts a backoff short when the signal aborts', async () => {
      primary.setHandler(() => ({ status: 500 }));
      const controller = new AbortController();
      const svc = service({ retries: 1, baseDelayMs: 60_000, logger: { warn: () => controller.abort() } });

      const parts = await drain(svc.stream({ messages, signal: controller.signal }));

      expect(parts).toHaveLength(1);
      expect(errorOf(parts)).toMatchObject({ code: 'aborted' });
      expect(primary.chatRequests).toHaveLength(1);
    });
  });

  describe('abort', () => {
    it('closes the upstream socket mid-stream and ends with aborted', async () => {
      primary.enqueue({ tokens: Array.from({ length: 200 }, (_, i) => `w${i} `), tokenDelayMs: 20 });
      const controller = new AbortController();

      const parts: StreamPart[] = [];
      for await (const part of service().stream({ messages, signal: controller.signal })) {
        parts.push(part);
        if (part.type === 'text-delta') controller.abort();
      }

      expect(parts.map((p) => p.type)).toEqual(['start', 'text-delta', 'error']);
      expect(errorOf(parts).code).toBe('aborted');
      await expect(primary.chatRequests[0].outcome).resolves.toBe('closed-early');
      expect(backup.chatRequests).toHaveLength(0);
    });

    it('closes the upstream socket when the consumer stops reading', async () => {
      primary.enqueue({ tokens: Array.from({ length: 200 }, (_, i) => `w${i} `), tokenDelayMs: 20 });

      for await (const part of service().stream({ messages })) {
        if (part.type === 'text-delta') break;
      }

      await expect(primary.chatRequests[0].outcome).resolves.toBe('closed-early');
    });
  });

  describe('with offline models', () => {
    it('falls back from a scripted failure to a scripted answer, passing options through', async () => {
      const flaky = createScriptedModel('flaky', [new LlmError('connection', 'scripted outage')]);
      const steady = createScriptedModel('steady', ['[{"serial_number": 1, "agent": "Summarizer"}]']);

      const result = await service({}, [flaky, steady]).generate({
        messages,
        temperature: 0.1,
        strategy: { type: 'priority', models: ['flaky', 'steady'] },
      });

      expect(result).toMatchObject({
        model: 'steady',
        text: '[{"serial_number": 1, "agent": "Summarizer"}]',
        finishReason: 'stop',
      });
      expect(steady.calls).toEqual([{ messages, temperature: 0.1 }]);
    });

    it('passes on an error raised after text', async () => {
      const model = createScriptedModel('m', [{ text: 'half', error: new LlmError('upstream', 'boom') }, 'never used']);

      await expect(service({ retries: 2 }, [model]).generate({ messages })).rejects.toMatchObject({ code: 'upstream' });
      expect(model.calls).toHaveLength(1);
    });
  });
});
