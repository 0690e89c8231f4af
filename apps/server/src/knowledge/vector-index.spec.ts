import { nearest, packVectors, unitVector, VectorCache } from './vector-index';

describe('vector index', () => {
  const rows = [
    { id: '1', embedding: [1, 0, 0] },
    { id: '2', embedding: [0.6, 0.8, 0] },
    { id: '3', embedding: [0, 0, 1] },
    { id: '4', embedding: [1, 0] },
  ];

  it('packs rows of one length and finds the most similar first (exact cosine)', () => {
    const packed = packVectors('m', '7', rows);
    expect(packed).toMatchObject({ model: 'm', version: '7', dims: 3, ids: ['1', '2', '3'] });
    const hits = nearest(packed, unitVector([2, 1, 0]), 2);
    expect(hits.map((h) => h.id)).toEqual(['2', '1']);
    expect(hits[0].score).toBeCloseTo((0.6 * 2 + 0.8) / Math.sqrt(5));
    expect(nearest(packed, unitVector([1, 0, 0]), 10).map((h) => h.id)).toEqual(['1', '2', '3']);
    // A query of another length matches nothing.
    expect(nearest(packed, unitVector([1, 0]), 2)).toEqual([]);
  });

  it('reads a space again only when its version changed; loads of one version are shared', async () => {
    const loads: string[] = [];
    let version = '1';
    const cache = new VectorCache(async (space, model) => {
      loads.push(`${space}:${model}`);
      return packVectors(model, version, rows);
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
});
