import { float4Array } from './knowledge.repository';
import { nearest, packVectors, unitVector, VectorCache } from './vector-index';

describe('vector index', () => {
  const rows = [
    { id: '1', document_id: 1, embedding: [1, 0, 0] },
    { id: '2', document_id: 1, embedding: [0.6, 0.8, 0] },
    { id: '3', document_id: 2, embedding: [0, 0, 1] },
    { id: '4', document_id: 2, embedding: [1, 0] },
  ];
  const docs = [
    { id: 1, stamp: 'a' },
    { id: 2, stamp: 'a' },
  ];

  it('packs rows of one length and finds the most similar first (exact cosine)', async () => {
    const packed = packVectors('m', '7', docs, rows);
    expect(packed).toMatchObject({ model: 'm', version: '7', dims: 3, ids: ['1', '2', '3'] });
    const hits = await nearest(packed, unitVector([2, 1, 0]), 2);
    expect(hits.map((h) => h.id)).toEqual(['2', '1']);
    expect(hits[0].score).toBeCloseTo((0.6 * 2 + 0.8) / Math.sqrt(5));
    expect((await nearest(packed, unitVector([1, 0, 0]), 10)).map((h) => h.id)).toEqual(['1', '2', '3']);
    // A query of another length matches nothing.
    expect(await nearest(packed, unitVector([1, 0]), 2)).toEqual([]);
  });

  it('scans more rows than one slice (with yields between) and keeps the exact best ones', async () => {
    // Three rows close to the query, in three different slices; every other row is orthogonal to it.
    const planted: Record<number, number[]> = { 500: [1, 0.5, 0], 5000: [1, 0, 0], 9500: [1, 0.2, 0] };
    const many = Array.from({ length: 10_000 }, (_, i) => ({
      id: String(i),
      document_id: 1,
      embedding: Array.from(unitVector(planted[i] ?? [0, 0, 1])),
    }));
    const hits = await nearest(packVectors('m', '1', [{ id: 1, stamp: 'a' }], many), unitVector([1, 0, 0]), 3);
    expect(hits.map((h) => h.id)).toEqual(['5000', '9500', '500']);
  });

  it('reads a space again only when its version changed; loads of one version are shared', async () => {
    const loads: string[] = [];
    let version = '1';
    const cache = new VectorCache(async (space, model) => {
      loads.push(`${space}:${model}`);
      return packVectors(model, version, docs, rows);
    }, 2);
    await Promise.all([cache.get(1, 'm', '1'), cache.get(1, 'm', '1')]);
    await cache.get(1, 'm', '1');
    expect(loads).toEqual(['1:m']);
    version = '2';
    await cache.get(1, 'm', '2');
    await cache.get(1, 'other', '2');
    expect(loads).toEqual(['1:m', '1:m', '1:other']);
    await cache.get(2, 'm', '2');
    await cache.get(3, 'm', '2');
    await cache.get(1, 'other', '2');
    expect(loads.at(-1)).toBe('1:other');
    expect(loads).toHaveLength(6);
  });

  it('refreshes a space from the documents synced since: the others are kept from memory, the deleted dropped', () => {
    const first = packVectors('m', '1', docs, rows);
    expect(first.ids).toEqual(['1', '2', '3']);
    // Document 1 re-synced (new stamp, one new vector), document 2 deleted, document 3 added.
    const next = packVectors(
      'm',
      '2',
      [
        { id: 1, stamp: 'b' },
        { id: 3, stamp: 'a' },
      ],
      [
        { id: '9', document_id: 1, embedding: [0, 1, 0] },
        { id: '7', document_id: 3, embedding: [0, 0, 1] },
      ],
      first,
    );
    expect(next.ids).toEqual(['9', '7']);
    expect(Array.from(next.matrix)).toEqual([0, 1, 0, 0, 0, 1]);
    // Nothing changed but a new document: the old rows are copied, only the new one comes from `fresh`.
    const again = packVectors(
      'm',
      '3',
      [
        { id: 1, stamp: 'b' },
        { id: 3, stamp: 'a' },
        { id: 4, stamp: 'a' },
      ],
      [{ id: '8', document_id: 4, embedding: [1, 0, 0] }],
      next,
    );
    expect(again.ids).toEqual(['9', '7', '8']);
    expect(Array.from(again.matrix)).toEqual([0, 1, 0, 0, 0, 1, 1, 0, 0]);
    expect(again.docs.get(4)).toEqual({ stamp: 'a', start: 2, count: 1 });
  });

  it("takes a sync's vectors into a held space without reading it again; the version moves only past that one change", async () => {
    let loads = 0;
    let version = '1';
    const cache = new VectorCache(async (_space, model) => {
      loads++;
      return packVectors(model, version, docs, rows);
    });
    // Not held: nothing to update.
    expect(cache.apply(1, 'm', '2', { id: 4, stamp: 'a' }, [])).toBe(false);
    await cache.get(1, 'm', '1');
    // Document 1 re-synced (version 2): its rows replaced in memory, the space now at version 2.
    expect(cache.apply(1, 'm', '2', { id: 1, stamp: 'b' }, [{ id: '9', document_id: 1, embedding: [0, 1, 0] }])).toBe(
      true,
    );
    const held = await cache.get(1, 'm', '2');
    expect(loads).toBe(1);
    expect(held.ids).toEqual(['9', '3']);
    expect(held.docs.get(1)).toEqual({ stamp: 'b', start: 0, count: 1 });
    // A new document after an unseen change (version 4, not 3): held, but the version stays for the next read.
    expect(cache.apply(1, 'm', '4', { id: 5, stamp: 'a' }, [{ id: '10', document_id: 5, embedding: [1, 0, 0] }])).toBe(
      true,
    );
    version = '4';
    const refreshed = await cache.get(1, 'm', '4');
    expect(loads).toBe(2);
    expect(refreshed.version).toBe('4');
    // Another model's vectors are not mixed in.
    expect(cache.apply(1, 'other', '5', { id: 6, stamp: 'a' }, [])).toBe(false);
  });

  it("decodes Postgres's binary real[] (array_send)", () => {
    // SELECT array_send('{1.5,-2,0.25}'::real[]): 1 dimension, no nulls, element type 700, 3 elements from 1.
    const header = [1, 0, 700, 3, 1];
    const bytes = Buffer.alloc(20 + 3 * 8);
    header.forEach((v, i) => bytes.writeInt32BE(v, i * 4));
    [1.5, -2, 0.25].forEach((v, i) => {
      bytes.writeInt32BE(4, 20 + i * 8);
      bytes.writeFloatBE(v, 24 + i * 8);
    });
    expect(Array.from(float4Array(bytes))).toEqual([1.5, -2, 0.25]);
    expect(float4Array(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 188]))).toHaveLength(0);
  });
});
