import type { StreamPart } from '../port';
import { batchedStream, type PartBatch, partBatches } from './batches';

const start: StreamPart = { type: 'start', model: 'm' };
const a: StreamPart = { type: 'text-delta', text: 'a' };
const b: StreamPart = { type: 'text-delta', text: 'b' };
const finish: StreamPart = { type: 'finish', finishReason: 'stop' };

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('batchedStream / partBatches', () => {
  const batches: PartBatch[] = [[start], [a, b, finish]];

  it('reads as plain parts', async () => {
    expect(await all(batchedStream(fromArray(batches)))).toEqual([start, a, b, finish]);
  });

  it('gives the batches back as they were, the same arrays', async () => {
    const read = await all(partBatches(batchedStream(fromArray(batches))));
    expect(read).toEqual(batches);
    expect(read[1]).toBe(batches[1]);
  });

  it('reads any other stream one part per batch', async () => {
    expect(await all(partBatches(fromArray([start, a, finish])))).toEqual([[start], [a], [finish]]);
  });
});
