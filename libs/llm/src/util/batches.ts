import type { LanguageModel, LlmCallOptions, LlmPort, LlmRequest, PartBatch, StreamPart } from '../port';

/** The parts of `batches`, one by one. */
export async function* flattenBatches(batches: AsyncIterable<PartBatch>): AsyncGenerator<StreamPart> {
  for await (const batch of batches) for (const part of batch) yield part;
}

/** Each part of `parts` as a batch of its own (for sources that do not group). */
export async function* singletonBatches(parts: AsyncIterable<StreamPart>): AsyncGenerator<PartBatch> {
  for await (const part of parts) yield [part];
}

/** A port's or a model's parts in batches: its own grouping when it has one, else one part per batch. */
export function batchesOf(source: LlmPort, request: LlmRequest): AsyncIterable<PartBatch>;
export function batchesOf(source: LanguageModel, options: LlmCallOptions): AsyncIterable<PartBatch>;
export function batchesOf(source: LlmPort | LanguageModel, request: LlmRequest): AsyncIterable<PartBatch> {
  return source.streamBatches ? source.streamBatches(request) : singletonBatches(source.stream(request));
}
