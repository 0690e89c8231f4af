import type { StreamPart } from '@ensemble/llm';
import { ScriptedLlm } from './scripted-llm';

const drain = async (parts: AsyncIterable<StreamPart>) => {
  const out: StreamPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
};
const request = (signal?: AbortSignal) => ({ messages: [{ role: 'user' as const, content: 'two words' }], signal });

describe('ScriptedLlm', () => {
  it('streams a reply word by word and records the call', async () => {
    const llm = new ScriptedLlm(['Hello big world']);
    const strategy = { type: 'priority' as const, models: ['first', 'second'] };
    const parts = await drain(llm.stream({ ...request(), strategy, temperature: 0.5 }));
    expect(parts).toEqual([
      { type: 'start', model: 'first' },
      { type: 'text-delta', text: 'Hello ' },
      { type: 'text-delta', text: 'big ' },
      { type: 'text-delta', text: 'world' },
      { type: 'finish', finishReason: 'stop', usage: { inputTokens: 2, outputTokens: 3, totalTokens: 5 } },
    ]);
    expect(llm.calls).toEqual([expect.objectContaining({ strategy, temperature: 0.5, messages: request().messages })]);
  });

  it('replies from a function of the request, and fails calls beyond the script', async () => {
    const llm = new ScriptedLlm((req, call) => `${call}:${req.messages.length}`);
    expect(await llm.generate(request())).toMatchObject({ model: 'scripted-model', text: '0:1' });
    const short = new ScriptedLlm([]);
    await expect(short.generate(request())).rejects.toMatchObject({ code: 'upstream' });
  });

  it('emits error parts before start or after some tokens', async () => {
    const llm = new ScriptedLlm([
      { error: { code: 'auth', message: 'no' } },
      { text: 'a b c', error: { code: 'timeout', afterTokens: 2 } },
    ]);
    const [before] = await drain(llm.stream(request()));
    expect(before).toMatchObject({ type: 'error', error: { code: 'auth', message: 'no' } });
    const after = await drain(llm.stream(request()));
    expect(after.map((p) => p.type)).toEqual(['start', 'text-delta', 'text-delta', 'error']);
  });

  it('ends with an aborted error part when the signal aborts between tokens', async () => {
    const llm = new ScriptedLlm(['one two three'], { tokenDelayMs: 5 });
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    for await (const part of llm.stream(request(controller.signal))) {
      parts.push(part);
      if (part.type === 'text-delta') controller.abort();
    }
    expect(parts.map((p) => p.type)).toEqual(['start', 'text-delta', 'error']);
    expect(parts[2]).toMatchObject({ error: { code: 'aborted' } });
  });
});
