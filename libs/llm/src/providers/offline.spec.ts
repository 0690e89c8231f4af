import { LlmError } from '../errors';
import type { LlmCallOptions, StreamPart } from '../port';
import { createOfflineModel, createScriptedModel, OFFLINE_MODEL_NAME } from './offline';

async function drain(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

const ask = (content: string): LlmCallOptions => ({
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'an older question' },
    { role: 'assistant', content: 'an older answer' },
    { role: 'user', content },
  ],
});

describe('offline model', () => {
  const model = createOfflineModel(OFFLINE_MODEL_NAME, { tokenDelayMs: 0 });

  it('answers with a labelled echo of the last user message, the same every time', async () => {
    const first = await model.generate(ask('What is AWEL?'));
    const second = await model.generate(ask('What is AWEL?'));

    expect(first).toEqual(second);
    expect(first.model).toBe('ensemble-offline');
    expect(first.text).toBe(
      '[ensemble-offline] This is the offline model, a local echo that calls no language model. You said: "What is AWEL?"',
    );
    expect(first.finishReason).toBe('stop');
    expect((await model.generate(ask('Something else'))).text).toContain('You said: "Something else"');
  });

  it('streams word by word after one start, and counts words as tokens', async () => {
    const parts = await drain(model.stream(ask('hello offline world')));

    const deltas = parts.filter((p) => p.type === 'text-delta');
    const text = deltas.map((p) => p.text).join('');
    expect(parts[0]).toEqual({ type: 'start', model: 'ensemble-offline' });
    expect(parts.filter((p) => p.type === 'start')).toHaveLength(1);
    expect(deltas.length).toBe(text.split(' ').length);
    expect(parts[parts.length - 1]).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 2 + 3 + 3 + 3, outputTokens: deltas.length, totalTokens: 11 + deltas.length },
    });
  });

  it('keeps its pace between words', async () => {
    const paced = createOfflineModel('paced', { tokenDelayMs: 20 });
    const started = Date.now();

    const parts = await drain(paced.stream(ask('one two three')));

    const words = parts.filter((p) => p.type === 'text-delta').length;
    expect(words).toBeGreaterThan(10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(words * 20 * 0.5);
  });

  it('stops at once when aborted and ends with an aborted error part', async () => {
    const slow = createOfflineModel('slow', { tokenDelayMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);

    const parts = await drain(slow.stream({ ...ask('hi'), signal: controller.signal }));

    expect(parts.map((p) => p.type)).toEqual(['start', 'error']);
    expect(parts[1]).toMatchObject({ type: 'error', error: { code: 'aborted', model: 'slow' } });
  });

  it('honours maxTokens and stop', async () => {
    const short = await model.generate({ ...ask('x'), maxTokens: 3 });
    const stopped = await model.generate({ ...ask('x'), stop: [' offline'] });

    expect(short).toMatchObject({
      text: '[ensemble-offline] This is ',
      finishReason: 'length',
      usage: { outputTokens: 3 },
    });
    expect(stopped).toMatchObject({
      text: '[ensemble-offline] This is the',
      finishReason: 'stop',
    });
  });
});

describe('scripted model', () => {
  it('answers a list of replies in order, records calls, and fails past the end', async () => {
    const planner = createScriptedModel('planner', ['[{"serial_number": 1}]', 'second']);

    const first = await planner.generate(ask('plan it'));
    const second = await planner.generate(ask('again'));
    const third = planner.generate(ask('once more'));

    expect([first.text, second.text]).toEqual(['[{"serial_number": 1}]', 'second']);
    await expect(third).rejects.toMatchObject({ code: 'bad_request', model: 'planner' });
    expect(planner.calls.map((c) => c.messages[c.messages.length - 1].content)).toEqual([
      'plan it',
      'again',
      'once more',
    ]);
  });

  it('keeps whitespace exactly when streaming a reply', async () => {
    const json = '[\n  {"agent": "Summarizer",  "content": "x"}\n]';
    const parts = await drain(createScriptedModel('m', [json]).stream(ask('q')));

    expect(parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('')).toBe(json);
  });

  it('calls a function with the options and the call index', async () => {
    const model = createScriptedModel('fn', async (options, index) => `#${index}: ${options.messages.length} messages`);

    expect((await model.generate(ask('a'))).text).toBe('#0: 4 messages');
    expect((await model.generate({ messages: [{ role: 'user', content: 'b' }] })).text).toBe('#1: 1 messages');
  });

  it('can fail before text, or after some text', async () => {
    const model = createScriptedModel('failing', [
      new LlmError('upstream', 'scripted outage'),
      { text: 'partial answer', error: new LlmError('connection', 'cut') },
    ]);

    const before = await drain(model.stream(ask('1')));
    const after = await drain(model.stream(ask('2')));

    expect(before.map((p) => p.type)).toEqual(['start', 'error']);
    expect(after.map((p) => p.type)).toEqual(['start', 'text-delta', 'text-delta', 'error']);
    expect(after[3]).toMatchObject({ error: { code: 'connection' } });
  });

  it('turns a thrown error into an error part', async () => {
    const model = createScriptedModel('thrower', () => {
      throw new Error('script bug');
    });

    const parts = await drain(model.stream(ask('x')));

    expect(parts[1]).toMatchObject({
      type: 'error',
      error: { code: 'upstream', message: 'model "thrower": script bug' },
    });
  });
});
