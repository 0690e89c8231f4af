import { batchedStream, LlmPort, LlmRequest, PartBatch, partBatches } from '@ensemble/llm';
import { FlowGate, gatedLlm } from './flow-gate';

const tick = () => new Promise((r) => setImmediate(r));

/** A port whose batches count how many were asked for. */
function countingPort(batches: PartBatch[]) {
  const state = { pulled: 0, returned: false };
  const batchesOf = (_request: LlmRequest): AsyncIterable<PartBatch> => ({
    [Symbol.asyncIterator]: () => ({
      next: () =>
        Promise.resolve(
          state.pulled < batches.length
            ? { done: false, value: batches[state.pulled++] }
            : { done: true, value: undefined },
        ),
      return: () => {
        state.returned = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  });
  const stream = (request: LlmRequest) => batchedStream(batchesOf(request));
  return { port: { stream } as unknown as LlmPort, state };
}

const text = (t: string): PartBatch => [{ type: 'text-delta', text: t }];

describe('FlowGate and gatedLlm', () => {
  it('asks the upstream for no batch while the gate is closed, and resumes when it opens', async () => {
    const gate = new FlowGate();
    const { port, state } = countingPort([text('a'), text('b'), text('c')]);
    const it = partBatches(gatedLlm(port, gate, new AbortController().signal).stream({ messages: [] }))[
      Symbol.asyncIterator
    ]();
    expect((await it.next()).value).toEqual(text('a'));
    gate.close();
    const second = it.next();
    await tick();
    expect(state.pulled).toBe(1);
    gate.open();
    expect((await second).value).toEqual(text('b'));
    expect(state.pulled).toBe(2);
  });

  it('lets the read through when the run is aborted while the gate is closed', async () => {
    const gate = new FlowGate();
    const controller = new AbortController();
    const { port, state } = countingPort([text('a'), text('b')]);
    const it = partBatches(gatedLlm(port, gate, controller.signal).stream({ messages: [] }))[Symbol.asyncIterator]();
    gate.close();
    const first = it.next();
    await tick();
    expect(state.pulled).toBe(0);
    controller.abort('stalled');
    expect((await first).value).toEqual(text('a'));
    expect(gate.isOpen).toBe(false);
  });

  it('closes the upstream iterator when the consumer stops', async () => {
    const gate = new FlowGate();
    const { port, state } = countingPort([text('a'), text('b')]);
    const it = partBatches(gatedLlm(port, gate, new AbortController().signal).stream({ messages: [] }))[
      Symbol.asyncIterator
    ]();
    await it.next();
    await it.return?.(undefined);
    expect(state.returned).toBe(true);
  });
});
