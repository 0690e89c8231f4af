import { Client } from 'pg';
import request from 'supertest';
import { KnowledgeRepository } from '../apps/server/src/knowledge/knowledge.repository';
import { KnowledgeService } from '../apps/server/src/knowledge/knowledge.service';
import { FAKE_EMBEDDING_DIMENSIONS, startFakeOpenAI, type FakeOpenAI } from './support/fake-openai';
import {
  createSpace,
  EMBED_KEY,
  EMBED_KEY_ENV,
  embeddingModelsFile,
  KNOWLEDGE,
  syncAndWait,
  VECTOR_DOCS,
} from './support/knowledge';
import { AUTH, startTestServer, TestServer } from './support/server';

describe('Hybrid retrieval with an embedding model (real Postgres, fake upstream)', () => {
  let fake: FakeOpenAI;
  let withModel: TestServer;
  let without: TestServer;
  let pg: Client;

  const http = (server: TestServer) => request(server.origin);
  const addText = async (server: TestServer, spaceId: number, name: string, content: string) => {
    const res = await http(server)
      .post(`${KNOWLEDGE}/documents`)
      .query({ doc_name: name, doc_type: 'TEXT', content, space_id: String(spaceId) })
      .set(AUTH);
    expect(res.status).toBe(201);
    return res.body.data.id as number;
  };
  const retrieve = async (server: TestServer, spaceId: number, query: string) => {
    const res = await http(server).post(`${KNOWLEDGE}/spaces/${spaceId}/retrieve`).set(AUTH).send({ query, top_k: 3 });
    expect(res.status).toBe(200);
    return (res.body.data as { doc_name: string }[]).map((h) => h.doc_name);
  };
  /** A space holding the three documents, synced. */
  const corpus = async (server: TestServer, name: string) => {
    const space = await createSpace(http(server), name);
    for (const [doc, text] of Object.entries(VECTOR_DOCS)) {
      const id = await addText(server, space.id, doc, text);
      expect(await syncAndWait(http(server), id, space.id)).toMatchObject({ status: 'FINISHED' });
    }
    return space.id;
  };

  beforeAll(async () => {
    process.env[EMBED_KEY_ENV] = EMBED_KEY;
    fake = await startFakeOpenAI({ apiKey: EMBED_KEY });
    withModel = await startTestServer({ MODELS_FILE: embeddingModelsFile(fake.url, EMBED_KEY_ENV) });
    without = await startTestServer();
    pg = new Client({ connectionString: withModel.db.url });
    await pg.connect();
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await pg.end();
    await withModel.close();
    await without.close();
    await fake.close();
  });

  it('finds a chunk that shares no word with the query by its vector, only with the embedding model', async () => {
    const spaceId = await corpus(withModel, 'hybrid');
    // Three documents of one chunk each, embedded in batches of up to 8 texts: one request per sync.
    expect(fake.embeddingRequests.map((r) => r.body?.input)).toEqual(Object.values(VECTOR_DOCS).map((t) => [t]));
    const stored = await pg.query(
      `SELECT d.embedding_model, array_length(v.embedding, 1) AS dims FROM knowledge_chunks c
       JOIN knowledge_documents d ON d.id = c.document_id JOIN knowledge_vectors v ON v.chunk_id = c.id
       WHERE c.space_id = $1`,
      [spaceId],
    );
    expect(stored.rows).toEqual(
      Object.keys(VECTOR_DOCS).map(() => ({ embedding_model: 'fake-embed', dims: FAKE_EMBEDDING_DIMENSIONS })),
    );

    // "doctor" and "sedan" appear in no document: only the vectors (doctor ~ physician, sedan ~ automobile) find them.
    expect((await retrieve(withModel, spaceId, 'doctor'))[0]).toBe('clinic.txt');
    expect((await retrieve(withModel, spaceId, 'sedan'))[0]).toBe('garage.txt');
    // Both rankings count: a lexical match still comes first.
    expect((await retrieve(withModel, spaceId, 'harbour cranes'))[0]).toBe('harbour.txt');

    // Without an embedding model, retrieval is lexical only (today's behaviour): no shared word, nothing found.
    const plainSpace = await corpus(without, 'lexical');
    expect(await retrieve(without, plainSpace, 'doctor')).toEqual([]);
    expect(await retrieve(without, plainSpace, 'sedan')).toEqual([]);
    expect(await retrieve(without, plainSpace, 'physician')).toEqual(['clinic.txt']);
  });

  it('sees vectors written after its first search (a re-synced or deleted document)', async () => {
    const space = await createSpace(http(withModel), 'changing');
    const first = await addText(withModel, space.id, 'ocean.txt', 'Whales migrate across the sea.');
    await syncAndWait(http(withModel), first, space.id);
    expect(await retrieve(withModel, space.id, 'feline')).toEqual([]);
    const second = await addText(withModel, space.id, 'pets.txt', 'Our kitten sleeps all day.');
    await syncAndWait(http(withModel), second, space.id);
    expect(await retrieve(withModel, space.id, 'feline')).toEqual(['pets.txt']);
    expect((await http(withModel).delete(`${KNOWLEDGE}/documents/${second}`).set(AUTH)).status).toBe(200);
    expect(await retrieve(withModel, space.id, 'feline')).toEqual([]);
  });

  it("takes a synced document's vectors in at sync time: the first query after a sync reads no vectors back", async () => {
    // A spy that calls through: it only counts the reads of a space's vectors from the database.
    const reads = jest.spyOn(withModel.app.get(KnowledgeRepository), 'spaceVectors');
    const synced = async (spaceId: number, name: keyof typeof VECTOR_DOCS) => {
      const id = await addText(withModel, spaceId, name, VECTOR_DOCS[name]);
      expect(await syncAndWait(http(withModel), id, spaceId)).toMatchObject({ status: 'FINISHED' });
      await withModel.app.get(KnowledgeService).idle();
    };
    try {
      const space = await createSpace(http(withModel), 'warm');
      // A space not held yet is loaded by the sync (one read: the space's only document)...
      await synced(space.id, 'clinic.txt');
      expect(reads).toHaveBeenCalledTimes(1);
      reads.mockClear();
      // ...so neither its first query nor the first query after the next sync reads any.
      expect((await retrieve(withModel, space.id, 'doctor'))[0]).toBe('clinic.txt');
      await synced(space.id, 'garage.txt');
      expect((await retrieve(withModel, space.id, 'sedan'))[0]).toBe('garage.txt');
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
  });

  it('marks the document FAILED with the reason when the embedding upstream fails during sync (after one retry)', async () => {
    const space = await createSpace(http(withModel), 'upstream-down');
    const id = await addText(withModel, space.id, 'down.txt', 'The physician is away.');
    fake.enqueueEmbeddings({ status: 503 }, { status: 503 });
    const doc = await syncAndWait(http(withModel), id, space.id);
    expect(doc).toMatchObject({
      status: 'FAILED',
      chunk_size: 0,
      result: 'Embedding the chunks failed: The model "fake-embed" failed (upstream error).',
    });
    expect(fake.embeddingRequests).toHaveLength(2);
    const chunks = await pg.query(`SELECT count(*)::int AS n FROM knowledge_chunks WHERE document_id = $1`, [id]);
    expect(chunks.rows[0].n).toBe(0);

    // One failure is retried: the next sync succeeds.
    fake.enqueueEmbeddings({ status: 503 });
    expect(await syncAndWait(http(withModel), id, space.id)).toMatchObject({ status: 'FINISHED', chunk_size: 1 });
  });

  it('falls back to lexical retrieval when embedding the query fails', async () => {
    const spaceId = await corpus(withModel, 'query-down');
    fake.reset();
    fake.enqueueEmbeddings({ status: 400 });
    expect(await retrieve(withModel, spaceId, 'harbour cranes')).toEqual(['harbour.txt']);
    expect(fake.embeddingRequests).toHaveLength(1);
    // And the vectors are back for the next query.
    expect((await retrieve(withModel, spaceId, 'doctor'))[0]).toBe('clinic.txt');
  });
});
