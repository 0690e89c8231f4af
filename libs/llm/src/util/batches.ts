/**
 * The batched view of a stream, for a relay that forwards thousands of
 * tokens a second (the chat endpoint): it awaits once per network read of
 * the upstream instead of once per part. Port implementers need not know
 * about it: `stream()` returns plain parts, and a stream built with
 * `batchedStream` also carries its batches, which `partBatches` reads.
 */
import type { StreamPart } from '../port';

/**
 * Parts in the groups they arrived in: one group per network read (a burst
 * of tokens the upstream sent together), in order, never empty. The same
 * parts and contract as the stream they come from.
 */
export type PartBatch = readonly StreamPart[];

const BATCHES = Symbol('partBatches');

/** A stream that can also be read batch by batch. */
interface BatchedStream extends AsyncIterable<StreamPart> {
  readonly [BATCHES]: AsyncIterable<PartBatch>;
}

/** The parts of `batches` as a stream whose batches `partBatches` can read (either view, once). */
export function batchedStream(batches: AsyncIterable<PartBatch>): AsyncIterable<StreamPart> {
  const stream: BatchedStream = {
    [BATCHES]: batches,
    [Symbol.asyncIterator]: () => flattenBatches(batches),
  };
  return stream;
}

/** The batches of a stream: those it arrived in when it was built by `batchedStream`, else one part per batch. */
export function partBatches(stream: AsyncIterable<StreamPart>): AsyncIterable<PartBatch> {
  return (stream as Partial<BatchedStream>)[BATCHES] ?? singletonBatches(stream);
}

async function* flattenBatches(batches: AsyncIterable<PartBatch>): AsyncGenerator<StreamPart> {
  for await (const batch of batches) for (const part of batch) yield part;
}

async function* singletonBatches(parts: AsyncIterable<StreamPart>): AsyncGenerator<PartBatch> {
  for await (const part of parts) yield [part];
}
