/**
 * Hybrid retrieval on pgvector: the compiled server on the embedded database
 * (PGlite, which ships the `vector` extension) with an embedding model on the
 * fake upstream. Vectors are stored in a pgvector column and ranked by
 * cosine distance in SQL; a chunk that shares no word with the query is found
 * through its vector only. (Run as its own process: PGlite loads its parts
 * with dynamic import(), which Jest's module sandbox cannot do.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { CompiledServerBuild, RunningProcess, sharedBuild, startCompiledServer } from './support/compiled-server';
import { startFakeOpenAI, type FakeOpenAI } from './support/fake-openai';
import {
  createSpace,
  EMBED_KEY,
  EMBED_KEY_ENV,
  embeddingModelsFile,
  KNOWLEDGE,
  syncAndWait,
  VECTOR_DOCS,
} from './support/knowledge';
import { API_KEY, AUTH } from './support/server';

describe('Hybrid retrieval on pgvector (compiled server, embedded PGlite, fake upstream)', () => {
  let build: CompiledServerBuild;
  let fake: FakeOpenAI;
  let dataDir: string;
  let workDir: string;
  let running: RunningProcess;

  const http = () => request(running.origin);
  const addText = async (spaceId: number, name: string, content: string) => {
    const res = await http()
      .post(`${KNOWLEDGE}/documents`)
      .query({ doc_name: name, doc_type: 'TEXT', content, space_id: String(spaceId) })
      .set(AUTH);
    expect(res.status).toBe(201);
    return res.body.data.id as number;
  };
  const retrieve = async (spaceId: number, query: string) => {
    const res = await http().post(`${KNOWLEDGE}/spaces/${spaceId}/retrieve`).set(AUTH).send({ query, top_k: 3 });
    expect(res.status).toBe(200);
    return res.body.data as { doc_name: string; score: number }[];
  };
  const names = async (spaceId: number, query: string) => (await retrieve(spaceId, query)).map((h) => h.doc_name);

  beforeAll(async () => {
    build = await sharedBuild();
    fake = await startFakeOpenAI({ apiKey: EMBED_KEY });
    dataDir = mkdtempSync(join(tmpdir(), 'ensemble-pgvector-'));
    workDir = mkdtempSync(join(tmpdir(), 'ensemble-pgvector-cwd-'));
    running = await startCompiledServer(
      build.main,
      {
        API_KEYS: API_KEY,
        DATA_DIR: dataDir,
        MODELS_FILE: embeddingModelsFile(fake.url, EMBED_KEY_ENV),
        [EMBED_KEY_ENV]: EMBED_KEY,
      },
      90_000,
      workDir,
    );
  }, 300_000);

  afterAll(async () => {
    await running?.stop();
    await fake?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 30_000);

  it('says at start that vectors are on pgvector', () => {
    expect(running.output()).toMatch(/Knowledge vectors: pgvector \d+\.\d+\.\d+ \(cosine distance in SQL\)/);
    expect(running.output()).not.toContain('cosine in the process');
  });

  it('finds a chunk that shares no word with the query by its vector; a lexical match still comes first', async () => {
    const space = await createSpace(http(), 'pgvector-hybrid');
    for (const [doc, text] of Object.entries(VECTOR_DOCS)) {
      const id = await addText(space.id, doc, text);
      expect(await syncAndWait(http(), id, space.id)).toMatchObject({ status: 'FINISHED', chunk_size: 1 });
    }
    // "doctor" and "sedan" appear in no document: only the vectors (doctor ~ physician, sedan ~ automobile) find them.
    expect((await names(space.id, 'doctor'))[0]).toBe('clinic.txt');
    expect((await names(space.id, 'sedan'))[0]).toBe('garage.txt');
    expect((await names(space.id, 'harbour cranes'))[0]).toBe('harbour.txt');
    const hits = await retrieve(space.id, 'doctor');
    expect(hits.every((h) => h.score > 0)).toBe(true);
    // At once, over several pool connections (which share the embedded database's one session).
    const together = await Promise.all(
      ['doctor', 'sedan', 'harbour cranes', 'doctor', 'sedan'].map((q) => names(space.id, q)),
    );
    expect(together.map((n) => n[0])).toEqual(['clinic.txt', 'garage.txt', 'harbour.txt', 'clinic.txt', 'garage.txt']);
  }, 60_000);

  it('ranks the vectors as they are now: a re-synced or deleted document counts at once', async () => {
    const space = await createSpace(http(), 'pgvector-changing');
    const ocean = await addText(space.id, 'ocean.txt', 'Whales migrate across the sea.');
    await syncAndWait(http(), ocean, space.id);
    expect(await names(space.id, 'feline')).toEqual([]);
    const pets = await addText(space.id, 'pets.txt', 'Our kitten sleeps all day.');
    await syncAndWait(http(), pets, space.id);
    expect(await names(space.id, 'feline')).toEqual(['pets.txt']);
    expect((await http().delete(`${KNOWLEDGE}/documents/${pets}`).set(AUTH)).status).toBe(200);
    expect(await names(space.id, 'feline')).toEqual([]);
    // Another space's vectors never answer for this one.
    expect(await names(space.id, 'doctor')).toEqual([]);
  }, 60_000);
});
