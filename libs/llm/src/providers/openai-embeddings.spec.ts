import { fakeEmbedding, startFakeOpenAI, type FakeOpenAI } from '../../../../test/support/fake-openai';
import { LlmError } from '../errors';
import { LlmService } from '../llm.service';
import { createOfflineModel } from './offline';
import { ModelRegistry } from '../registry';
import { OpenAIEmbeddingModel } from './openai-embeddings';

const API_KEY = 'sk-test-0123456789abcdef';

describe('OpenAIEmbeddingModel and LlmService.embed (against the local fake upstream)', () => {
  let fake: FakeOpenAI;
  const model = (over: Partial<ConstructorParameters<typeof OpenAIEmbeddingModel>[0]> = {}) =>
    new OpenAIEmbeddingModel({
      name: 'embed',
      model: 'text-embedding-3-small',
      baseUrl: fake.url,
      apiKey: API_KEY,
      ...over,
    });
  const service = (embedding = model()) =>
    new LlmService(ModelRegistry.fromModels([createOfflineModel()], undefined, embedding), {
      baseDelayMs: 1,
      logger: { warn: () => undefined },
    });

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: API_KEY });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it('posts the texts to /embeddings and returns one vector per text, in order', async () => {
    const result = await model({ dimensions: 32 }).embed({ input: ['a red car', 'the doctor is in'] });
    expect(result).toEqual({
      model: 'embed',
      embeddings: [fakeEmbedding('a red car', 32), fakeEmbedding('the doctor is in', 32)],
      inputTokens: 7,
    });
    const [req] = fake.embeddingRequests;
    expect(req.path).toBe('/v1/embeddings');
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req.body).toEqual({
      model: 'text-embedding-3-small',
      input: ['a red car', 'the doctor is in'],
      encoding_format: 'float',
      dimensions: 32,
    });
  });

  it('maps upstream failures as chat calls do, never showing the key', async () => {
    fake.enqueueEmbeddings({ status: 401 }, { status: 400 }, { malformed: true });
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as LlmError,
      );
    const auth = await failure(model().embed({ input: ['x'] }));
    expect(auth).toBeInstanceOf(LlmError);
    expect(auth).toMatchObject({ code: 'auth', status: 401, model: 'embed' });
    expect((await failure(model().embed({ input: ['x'] })))?.code).toBe('bad_request');
    expect((await failure(model().embed({ input: ['x'] })))?.code).toBe('malformed_stream');
    const wrongKey = await failure(model({ apiKey: 'sk-wrong-key-123456' }).embed({ input: ['x'] }));
    expect(wrongKey?.code).toBe('auth');
    expect(wrongKey?.message).not.toContain('sk-wrong-key-123456');
    const down = await failure(model({ baseUrl: 'http://127.0.0.1:1/v1' }).embed({ input: ['x'] }));
    expect(down?.code).toBe('connection');
  });

  it('times out a silent upstream', async () => {
    fake.enqueueEmbeddings({ delayMs: 2000 });
    await expect(model({ timeoutMs: 50 }).embed({ input: ['x'] })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('LlmService retries a retryable failure once (the chat retry rules), not a bad request', async () => {
    const llm = service();
    expect(llm.embeddingModel).toBe('embed');
    fake.enqueueEmbeddings({ status: 503 });
    expect((await llm.embed({ input: ['car'] })).embeddings).toEqual([fakeEmbedding('car')]);
    expect(fake.embeddingRequests).toHaveLength(2);

    fake.reset();
    fake.enqueueEmbeddings({ status: 503 }, { status: 503 });
    await expect(llm.embed({ input: ['car'] })).rejects.toMatchObject({ code: 'upstream', model: 'embed' });
    expect(fake.embeddingRequests).toHaveLength(2);

    fake.reset();
    fake.enqueueEmbeddings({ status: 400 });
    await expect(llm.embed({ input: ['car'] })).rejects.toMatchObject({ code: 'bad_request' });
    expect(fake.embeddingRequests).toHaveLength(1);
  });

  it('LlmService without an embedding model says so', async () => {
    const llm = new LlmService(ModelRegistry.fromModels([createOfflineModel()]));
    expect(llm.embeddingModel).toBeUndefined();
    await expect(llm.embed({ input: ['x'] })).rejects.toMatchObject({ code: 'unknown_model' });
  });

  it('the fake folds the words of one concept together, so texts with no shared word are close', () => {
    const dot = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * b[i], 0);
    expect(dot(fakeEmbedding('automobile'), fakeEmbedding('cars'))).toBeCloseTo(1);
    expect(dot(fakeEmbedding('automobile'), fakeEmbedding('physician'))).toBe(0);
  });
});
