import type { ChunkVector, VectorDocument } from './knowledge.repository';

/** A space's chunk vectors of one embedding model, packed for scanning, document after document. */
export interface SpaceVectors {
  model: string;
  /** The space's `vectors_version` these were read at. */
  version: string;
  dims: number;
  ids: string[];
  /** `ids.length` unit vectors of `dims` floats, one after the other. */
  matrix: Float32Array;
  /** Where each document's vectors are (rows `start` to `start + count`), and the sync they are of. */
  docs: Map<number, { stamp: string; start: number; count: number }>;
}

export interface VectorHit {
  id: string;
  /** Cosine similarity (the vectors are unit length). */
  score: number;
}

/** Scales a vector to unit length (a zero vector stays zero). */
export function unitVector(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i] * out[i];
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i] /= norm;
  return out;
}

/**
 * Packs a space's vectors: for each of `docs` (in order), its rows from
 * `previous` when they are of the same sync (`stamp`), else its rows of
 * `fresh` (read from the database). Rows whose length differs from the
 * space's are left out.
 */
export function packVectors(
  model: string,
  version: string,
  docs: VectorDocument[],
  fresh: ChunkVector[],
  previous?: SpaceVectors,
): SpaceVectors {
  const byDoc = new Map<number, ChunkVector[]>();
  for (const r of fresh) byDoc.set(r.document_id, [...(byDoc.get(r.document_id) ?? []), r]);
  const reuse = (d: VectorDocument) => {
    const held = previous?.docs.get(d.id);
    return held && held.stamp === d.stamp ? held : undefined;
  };
  const dims =
    previous && previous.ids.length && docs.some((d) => reuse(d)?.count)
      ? previous.dims
      : (fresh[0]?.embedding.length ?? 0);
  const segments = docs.map((d) => {
    const held = reuse(d);
    if (held) return { doc: d, held, rows: [] as ChunkVector[] };
    return { doc: d, held: undefined, rows: (byDoc.get(d.id) ?? []).filter((r) => r.embedding.length === dims) };
  });
  const total = segments.reduce((n, s) => n + (s.held ? s.held.count : s.rows.length), 0);
  const matrix = new Float32Array(total * dims);
  const ids: string[] = [];
  const placed = new Map<number, { stamp: string; start: number; count: number }>();
  for (const { doc, held, rows } of segments) {
    const start = ids.length;
    if (held) {
      matrix.set(previous!.matrix.subarray(held.start * dims, (held.start + held.count) * dims), start * dims);
      for (let i = 0; i < held.count; i++) ids.push(previous!.ids[held.start + i]);
    } else {
      rows.forEach((r, i) => matrix.set(r.embedding, (start + i) * dims));
      for (const r of rows) ids.push(r.id);
    }
    placed.set(doc.id, { stamp: doc.stamp, start, count: ids.length - start });
  }
  return { model, version, dims, ids, matrix, docs: placed };
}

/** Rows scanned between two yields to the event loop (about a million multiply-adds at 256 dimensions). */
const ROWS_PER_SLICE = 4096;

/**
 * The `limit` rows of `vectors` most similar to `query` (cosine: a dot
 * product of unit vectors), best first; an exact scan of every row, in
 * slices with a yield to the event loop between them, so a large space does
 * not hold up other requests.
 */
export async function nearest(vectors: SpaceVectors, query: Float32Array, limit: number): Promise<VectorHit[]> {
  const { dims, matrix, ids } = vectors;
  if (query.length !== dims || limit <= 0) return [];
  // The best `limit` so far, ascending by score: top[0] is the one to beat.
  const top: { index: number; score: number }[] = [];
  const tail = dims - (dims % 4);
  for (let start = 0; start < ids.length; start += ROWS_PER_SLICE) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const end = Math.min(start + ROWS_PER_SLICE, ids.length);
    for (let row = start, offset = start * dims; row < end; row++, offset += dims) {
      let a = 0;
      let b = 0;
      let c = 0;
      let d = 0;
      let i = 0;
      for (; i < tail; i += 4) {
        a += matrix[offset + i] * query[i];
        b += matrix[offset + i + 1] * query[i + 1];
        c += matrix[offset + i + 2] * query[i + 2];
        d += matrix[offset + i + 3] * query[i + 3];
      }
      for (; i < dims; i++) a += matrix[offset + i] * query[i];
      const score = a + b + c + d;
      if (top.length === limit && score <= top[0].score) continue;
      let at = top.findIndex((t) => t.score >= score);
      if (at < 0) at = top.length;
      top.splice(at, 0, { index: row, score });
      if (top.length > limit) top.shift();
    }
  }
  return top.reverse().map((t) => ({ id: ids[t.index], score: t.score }));
}

/**
 * The chunk vectors of recently searched spaces, held in memory so a query
 * scans floats instead of reading every vector from Postgres. An entry is
 * used while the space's `vectors_version` (bumped in the transaction that
 * changes its vectors, by any replica) is the one it was read at; otherwise
 * it is refreshed (the loader gets the entry held, so it reads only the
 * documents synced since). At most `maxSpaces` spaces are held (least
 * recently used out first).
 */
export class VectorCache {
  private readonly entries = new Map<number, SpaceVectors>();
  private readonly loading = new Map<string, Promise<SpaceVectors>>();

  constructor(
    private readonly load: (spaceId: number, model: string, previous?: SpaceVectors) => Promise<SpaceVectors>,
    private readonly maxSpaces = 16,
  ) {}

  async get(spaceId: number, model: string, version: string): Promise<SpaceVectors> {
    const held = this.entries.get(spaceId);
    if (held && held.model === model && held.version === version) {
      this.entries.delete(spaceId);
      this.entries.set(spaceId, held);
      return held;
    }
    const key = `${spaceId}:${model}:${version}`;
    let pending = this.loading.get(key);
    if (!pending) {
      const previous = held?.model === model ? held : undefined;
      pending = this.load(spaceId, model, previous).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    const fresh = await pending;
    this.entries.delete(spaceId);
    this.entries.set(spaceId, fresh);
    while (this.entries.size > this.maxSpaces) this.entries.delete(this.entries.keys().next().value!);
    return fresh;
  }

  /**
   * Puts one document's new vectors (just written by a sync in this
   * process) into the space's entry, so the next query does not read them
   * back from the database. The entry moves to `version` when that is the
   * very next version after the one it holds (this sync was the only
   * change); otherwise it keeps its version, and the next query reads
   * the other changes only (this document's stamp is already current).
   * False when the space is not held (of this model): nothing to update.
   */
  apply(spaceId: number, model: string, version: string, doc: VectorDocument, rows: ChunkVector[]): boolean {
    const held = this.entries.get(spaceId);
    if (!held || held.model !== model) return false;
    const docs = [...held.docs].map(([id, d]) => ({ id, stamp: id === doc.id ? doc.stamp : d.stamp }));
    if (!held.docs.has(doc.id)) docs.push(doc);
    const next = BigInt(held.version) + 1n === BigInt(version) ? version : held.version;
    this.entries.set(spaceId, packVectors(model, next, docs, rows, held));
    return true;
  }

  /** Forgets a space (deleted). */
  drop(spaceId: number): void {
    this.entries.delete(spaceId);
  }
}
