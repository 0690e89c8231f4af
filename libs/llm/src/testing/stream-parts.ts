/** Helpers for tests that read a stream of parts (not part of the public API). */
import { createServer } from 'node:net';
import type { LlmError } from '../errors';
import type { StreamPart } from '../port';
import { partBatches, type PartBatch } from '../util/batches';

export async function drain(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** The batches of a stream (see `partBatches`), all of them. */
export async function drainBatches(stream: AsyncIterable<StreamPart>): Promise<PartBatch[]> {
  const all: PartBatch[] = [];
  for await (const batch of partBatches(stream)) all.push(batch);
  return all;
}

export const textOf = (parts: StreamPart[]) => parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');

export const errorOf = (parts: StreamPart[]): LlmError => {
  const last = parts[parts.length - 1];
  if (last?.type !== 'error') throw new Error(`expected an error part, got ${JSON.stringify(parts)}`);
  return last.error;
};

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
