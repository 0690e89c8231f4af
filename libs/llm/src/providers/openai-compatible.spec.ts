import { closedPort, drain, drainBatches, errorOf, textOf } from '../testing/stream-parts';
import { startFakeOpenAI, type FakeOpenAI } from '../../../../test/support/fake-openai';
import { LlmError } from '../errors';
import type { LlmCallOptions, StreamPart } from '../port';
import { partBatches, type PartBatch } from '../util/batches';
import { OpenAICompatibleModel, type OpenAICompatibleModelConfig } from './openai-compatible';

const API_KEY = 'sk-test-0123456789abcdef';
const messages: LlmCallOptions['messages'] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say hello to the world' },
];

describe('OpenAICompatibleModel', () => {
  let fake: FakeOpenAI;
  const model = (config: Partial<OpenAICompatibleModelConfig> = {}) =>
    new OpenAICompatibleModel({
      name: 'chatgpt_proxyllm',
      model: 'gpt-4o-mini',
      baseUrl: fake.url,
      apiKey: API_KEY,
      ...config,
    });

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: API_KEY });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  describe('stream', () => {
    it('streams the text deltas, then the finish reason and usage', async () => {
      fake.enqueue({
        tokens: ['Hello', ', ', 'world', '!'],
        usage: { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 },
      });

      const parts = await drain(model().stream({ messages }));

      expect(parts).toEqual([
        { type: 'start', model: 'chatgpt_proxyllm' },
        { type: 'text-delta', text: 'Hello' },
        { type: 'text-delta', text: ', ' },
        { type: 'text-delta', text: 'world' },
        { type: 'text-delta', text: '!' },
        { type: 'finish', finishReason: 'stop', usage: { inputTokens: 11, outputTokens: 4, totalTokens: 15 } },
      ]);
    });

    it('groups the parts of one network read into one batch, the finish with the last text', async () => {
      fake.enqueue({
        tokens: ['a', 'b', 'c'],
        burst: true,
        usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
      });

      const batches = await drainBatches(model().stream({ messages }));

      expect(batches).toEqual([
        [{ type: 'start', model: 'chatgpt_proxyllm' }],
        [
          { type: 'text-delta', text: 'a' },
          { type: 'text-delta', text: 'b' },
          { type: 'text-delta', text: 'c' },
          { type: 'finish', finishReason: 'stop', usage: { inputTokens: 2, outputTokens: 3, totalTokens: 5 } },
        ],
      ]);
    });

    it('yields one batch per read when tokens arrive apart', async () => {
      // Each token leaves only once the batch of the one before was taken: one read each, however loaded the machine.
      let permits = 0;
      let waiting: (() => void) | undefined;
      const taken = () => {
        const next = waiting;
        waiting = undefined;
        if (next) next();
        else permits++;
      };
      fake.enqueue({
        tokens: ['one ', 'two ', 'three'],
        beforeToken: () => {
          if (permits === 0) return new Promise<void>((r) => (waiting = r));
          permits--;
          return Promise.resolve();
        },
      });

      const batches: PartBatch[] = [];
      for await (const batch of partBatches(model().stream({ messages }))) {
        batches.push(batch);
        if (batch.some((p) => p.type === 'text-delta')) taken();
      }
      const texts = batches.map((b) => b.filter((p) => p.type === 'text-delta').length);

      expect(batches[0]).toEqual([{ type: 'start', model: 'chatgpt_proxyllm' }]);
      // Each token was its own read; the last goes out with the finish.
      expect(texts.slice(1)).toEqual([1, 1, 1]);
      expect(batches[batches.length - 1].map((p) => p.type)).toEqual(['text-delta', 'finish']);
    });

    it('sends the text a read completed before a bad chunk, then the error', async () => {
      fake.enqueue({ tokens: ['fine ', 'so far'], malformed: true, burst: true });

      const batches = await drainBatches(model().stream({ messages }));

      expect(batches.slice(1, -1)).toEqual([
        [
          { type: 'text-delta', text: 'fine ' },
          { type: 'text-delta', text: 'so far' },
        ],
      ]);
      expect(batches[batches.length - 1]).toEqual([
        expect.objectContaining({ type: 'error', error: expect.objectContaining({ code: 'malformed_stream' }) }),
      ]);
    });

    it('sends the text of the last read before reporting a missing finish reason', async () => {
      fake.enqueue({ tokens: ['half ', 'an answer'], endWithoutFinish: true, burst: true });

      const parts = (await drainBatches(model().stream({ messages }))).flat();

      expect(textOf(parts)).toBe('half an answer');
      expect(errorOf(parts)).toMatchObject({ code: 'malformed_stream' });
    });

    it('sends the upstream model id, the settings, usage streaming, the key and extra headers', async () => {
      const m = model({ headers: { 'X-Team': 'ensemble' } });
      await drain(m.stream({ messages, temperature: 0.2, maxTokens: 64, topP: 0.9, stop: ['END'] }));

      const [request] = fake.chatRequests;
      expect(request.body).toEqual({
        model: 'gpt-4o-mini',
        messages,
        temperature: 0.2,
        max_tokens: 64,
        top_p: 0.9,
        stop: ['END'],
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(request.headers['x-team']).toBe('ensemble');
    });

    it('sends no Authorization header when the model has no key (a keyless server)', async () => {
      const keyless = await startFakeOpenAI();
      try {
        const parts = await drain(model({ baseUrl: keyless.url, apiKey: undefined }).stream({ messages }));

        expect(textOf(parts)).toBe('echo: Say hello to the world');
        expect(parts[parts.length - 1]).toMatchObject({ type: 'finish', finishReason: 'stop' });
        expect(keyless.chatRequests).toHaveLength(1);
        expect(keyless.chatRequests[0].headers).not.toHaveProperty('authorization');
      } finally {
        await keyless.close();
      }
    });

    it('applies the model defaults where the call sets nothing', async () => {
      const m = model({ defaults: { temperature: 0.7, maxTokens: 100, topP: 0.5 } });
      await drain(m.stream({ messages, temperature: 0 }));

      expect(fake.chatRequests[0].body).toMatchObject({ temperature: 0, max_tokens: 100, top_p: 0.5 });
    });

    it.each([
      ['length', 'length'],
      ['content_filter', 'content-filter'],
      ['tool_calls', 'other'],
    ])('maps finish_reason %s to %s', async (upstream, mapped) => {
      fake.enqueue({ text: 'cut short', finishReason: upstream });

      const parts = await drain(model().stream({ messages }));

      expect(parts[parts.length - 1]).toMatchObject({ type: 'finish', finishReason: mapped });
    });

    it('reports a finish without usage when the upstream sends none', async () => {
      fake.enqueue({ text: 'no usage here', usage: null });

      const parts = await drain(model().stream({ messages }));

      expect(parts[parts.length - 1]).toEqual({ type: 'finish', finishReason: 'stop' });
    });
  });

  describe('generate', () => {
    it('collects one streamed request: text, finish reason and usage', async () => {
      fake.enqueue({ text: 'Hello there, world.', finishReason: 'length' });

      const result = await model().generate({ messages, maxTokens: 3 });

      expect(result).toEqual({
        model: 'chatgpt_proxyllm',
        text: 'Hello there, world.',
        finishReason: 'length',
        usage: { inputTokens: 8, outputTokens: 3, totalTokens: 11 },
      });
      expect(fake.chatRequests).toHaveLength(1);
      expect(fake.chatRequests[0].body).toMatchObject({
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 3,
      });
    });

    it('throws the typed error', async () => {
      fake.enqueue({ status: 503 });

      await expect(model().generate({ messages })).rejects.toMatchObject({ code: 'upstream', status: 503 });
    });

    it('reports a chunk that is not JSON as malformed', async () => {
      fake.enqueue({ malformed: true });

      await expect(model().generate({ messages })).rejects.toMatchObject({ code: 'malformed_stream' });
    });

    it('times out a slow response', async () => {
      fake.enqueue({ text: 'late', firstTokenDelayMs: 10_000 });

      await expect(model({ timeoutMs: 100 }).generate({ messages })).rejects.toMatchObject({ code: 'timeout' });
      await expect(fake.chatRequests[0].outcome).resolves.toBe('closed-early');
    });
  });

  describe('errors', () => {
    it('maps 401 to auth, with the upstream message', async () => {
      const parts = await drain(model({ apiKey: 'sk-wrong-key-42' }).stream({ messages }));

      const error = errorOf(parts);
      expect(parts[0]).toEqual({ type: 'start', model: 'chatgpt_proxyllm' });
      expect(error).toBeInstanceOf(LlmError);
      expect(error).toMatchObject({ code: 'auth', status: 401, model: 'chatgpt_proxyllm', retryable: false });
      expect(error.message).toContain('Incorrect API key provided.');
      expect(error.message).not.toContain('sk-wrong-key-42');
    });

    it('maps 429 to rate_limit with retry-after in ms', async () => {
      fake.enqueue(
        { status: 429, headers: { 'retry-after': '2' } },
        { status: 429, headers: { 'retry-after-ms': '150' } },
        { status: 429 },
      );

      const errors = [];
      for (let i = 0; i < 3; i++) errors.push(errorOf(await drain(model().stream({ messages }))));

      expect(errors.map((e) => [e.code, e.status, e.retryAfterMs, e.retryable])).toEqual([
        ['rate_limit', 429, 2000, true],
        ['rate_limit', 429, 150, true],
        ['rate_limit', 429, undefined, true],
      ]);
    });

    it('maps 500 to upstream', async () => {
      fake.enqueue({ status: 500, errorBody: { error: { message: 'The server had an error', type: 'server_error' } } });

      const error = errorOf(await drain(model().stream({ messages })));

      expect(error).toMatchObject({ code: 'upstream', status: 500, retryable: true });
      expect(error.message).toContain('The server had an error');
    });

    it('maps 400 to bad_request and a context overflow to context_length', async () => {
      fake.enqueue(
        { status: 400, errorBody: { error: { message: "'messages' is invalid", type: 'invalid_request_error' } } },
        {
          status: 400,
          errorBody: {
            error: {
              message: "This model's maximum context length is 128000 tokens.",
              type: 'invalid_request_error',
              code: 'context_length_exceeded',
            },
          },
        },
      );

      const first = errorOf(await drain(model().stream({ messages })));
      const second = errorOf(await drain(model().stream({ messages })));

      expect(first).toMatchObject({ code: 'bad_request', status: 400, retryable: false });
      expect(second).toMatchObject({ code: 'context_length', status: 400, retryable: false });
    });

    it('reports a stream cut mid-way as a connection error after the text already received', async () => {
      fake.enqueue({ tokens: ['one ', 'two ', 'three ', 'four'], cutAfterTokens: 2 });

      const parts = await drain(model().stream({ messages }));

      expect(textOf(parts)).toBe('one two ');
      expect(parts.filter((p) => p.type === 'finish')).toEqual([]);
      expect(errorOf(parts)).toMatchObject({ code: 'connection' });
    });

    it('reports a stream that ends without a finish reason as malformed', async () => {
      fake.enqueue({ tokens: ['half ', 'an answer'], endWithoutFinish: true });

      const parts = await drain(model().stream({ messages }));

      expect(textOf(parts)).toBe('half an answer');
      expect(errorOf(parts)).toMatchObject({ code: 'malformed_stream' });
    });

    it('reports a chunk that is not JSON as malformed', async () => {
      fake.enqueue({ tokens: ['fine so far'], malformed: true });

      const parts = await drain(model().stream({ messages }));

      expect(textOf(parts)).toBe('fine so far');
      expect(errorOf(parts)).toMatchObject({ code: 'malformed_stream' });
    });

    it('reports an error event inside the stream as upstream', async () => {
      fake.enqueue({ tokens: ['partial'], streamError: { message: 'worker crashed' } });

      const error = errorOf(await drain(model().stream({ messages })));

      expect(error).toMatchObject({ code: 'upstream' });
      expect(error.message).toContain('worker crashed');
    });

    it('times out a slow first token and closes the upstream connection', async () => {
      fake.enqueue({ text: 'too late', firstTokenDelayMs: 10_000 });

      const parts = await drain(model({ timeoutMs: 100 }).stream({ messages }));

      expect(errorOf(parts)).toMatchObject({ code: 'timeout', retryable: true });
      expect(errorOf(parts).message).toContain('100 ms');
      await expect(fake.chatRequests[0].outcome).resolves.toBe('closed-early');
    });

    it('times out a stream that stalls between tokens', async () => {
      fake.enqueue({ tokens: ['quick ', 'then silence'], tokenDelayMs: 10_000 });

      const parts = await drain(model({ timeoutMs: 100 }).stream({ messages }));

      expect(textOf(parts)).toBe('quick ');
      expect(errorOf(parts)).toMatchObject({ code: 'timeout' });
    });

    it('does not count time spent by a slow consumer against the timeout', async () => {
      fake.enqueue({ tokens: ['a ', 'b ', 'c'] });

      const parts: StreamPart[] = [];
      for await (const part of model({ timeoutMs: 100 }).stream({ messages })) {
        parts.push(part);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }

      expect(textOf(parts)).toBe('a b c');
      expect(parts[parts.length - 1]).toMatchObject({ type: 'finish', finishReason: 'stop' });
    });

    it('maps a refused connection to connection', async () => {
      const port = await closedPort();

      const error = errorOf(await drain(model({ baseUrl: `http://127.0.0.1:${port}/v1` }).stream({ messages })));

      expect(error).toMatchObject({ code: 'connection', retryable: true });
      expect(error.message).toContain('ECONNREFUSED');
    });

    it('never puts the API key in a message, even when the upstream echoes it', async () => {
      fake.enqueue({
        status: 401,
        errorBody: { error: { message: `Incorrect API key provided: ${API_KEY}. Header was "Bearer ${API_KEY}".` } },
      });

      const error = errorOf(await drain(model().stream({ messages })));

      expect(error.code).toBe('auth');
      expect(error.message).not.toContain(API_KEY);
      expect(error.message).toContain('Incorrect API key provided: ***');
    });
  });

  describe('abort', () => {
    it('closes the upstream socket at once and ends with an aborted error part', async () => {
      fake.enqueue({ tokens: Array.from({ length: 200 }, (_, i) => `t${i} `), tokenDelayMs: 20 });
      const controller = new AbortController();

      const parts: StreamPart[] = [];
      for await (const part of model().stream({ messages, signal: controller.signal })) {
        parts.push(part);
        if (part.type === 'text-delta') controller.abort();
      }

      expect(parts.map((p) => p.type)).toEqual(['start', 'text-delta', 'error']);
      expect(errorOf(parts)).toMatchObject({ code: 'aborted', retryable: false });
      await expect(fake.chatRequests[0].outcome).resolves.toBe('closed-early');
      expect(fake.closedEarly).toBe(1);
    });

    it('leaves a call alone once its finish was read: an abort right after changes nothing', async () => {
      fake.enqueue({ tokens: ['done'], burst: true });
      fake.enqueue({ tokens: ['next'] });
      const controller = new AbortController();
      const m = model();

      // Abort at the finish, before the stream was closed (as a team run ending does).
      for await (const part of m.stream({ messages, signal: controller.signal })) {
        if (part.type === 'finish') {
          controller.abort();
          break;
        }
      }

      await expect(fake.chatRequests[0].outcome).resolves.toBe('completed');
      expect(textOf(await drain(m.stream({ messages })))).toBe('next');
      expect(fake.closedEarly).toBe(0);
    });

    it('sends nothing when the signal is already aborted', async () => {
      const parts = await drain(model().stream({ messages, signal: AbortSignal.abort() }));

      expect(errorOf(parts).code).toBe('aborted');
      expect(fake.requests).toHaveLength(0);
    });

    it('closes the upstream socket when the consumer stops reading', async () => {
      fake.enqueue({ tokens: Array.from({ length: 200 }, (_, i) => `t${i} `), tokenDelayMs: 20 });

      for await (const part of model().stream({ messages })) {
        if (part.type === 'text-delta') break;
      }

      await expect(fake.chatRequests[0].outcome).resolves.toBe('closed-early');
    });
  });
});
