import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { startFakeOpenAI, type FakeOpenAI } from './support/fake-openai';
import { createSpace, embeddingModelsFile, KNOWLEDGE, syncAndWait, uploadDocument } from './support/knowledge';
import { AUTH, startTestServer, TestServer } from './support/server';

/** The project's own docs (a snapshot) and questions, each with a passage of the chunk that answers it. */
const CORPUS = join(__dirname, 'fixtures', 'knowledge-corpus');
const QUESTIONS = JSON.parse(readFileSync(join(CORPUS, 'questions.json'), 'utf8')) as { q: string; answer: string }[];
const squash = (s: string) => s.replace(/\s+/g, ' ');
const KEY_ENV = 'ENSEMBLE_TEST_QUALITY_EMBED_KEY';

/** The corpus in a fresh space of the server; its id. */
async function ingest(server: TestServer): Promise<number> {
  const http = request(server.origin);
  const spaceId = (await createSpace(http, 'ensemble-docs', { language: 'english' })).id;
  for (const file of readdirSync(CORPUS).filter((f) => f.endsWith('.md'))) {
    const doc = await uploadDocument(http, spaceId, file, readFileSync(join(CORPUS, file)));
    expect(doc.status).toBe(201);
    expect(await syncAndWait(http, doc.body.data.id, spaceId)).toMatchObject({ status: 'FINISHED' });
  }
  return spaceId;
}

/** recall@5 over the questions, with the questions missed. */
async function recallAt5(server: TestServer, spaceId: number): Promise<{ recall: number; missed: string[] }> {
  const missed: string[] = [];
  for (const { q, answer } of QUESTIONS) {
    const res = await request(server.origin)
      .post(`${KNOWLEDGE}/spaces/${spaceId}/retrieve`)
      .set(AUTH)
      .send({ query: q, top_k: 5 });
    expect(res.status).toBe(200);
    const hits = res.body.data as { content: string }[];
    if (!hits.some((h) => squash(h.content).includes(squash(answer)))) missed.push(q);
  }
  return { recall: (QUESTIONS.length - missed.length) / QUESTIONS.length, missed };
}

const report = (path: string, { recall, missed }: { recall: number; missed: string[] }) =>
  process.stdout.write(
    `${path} recall@5 = ${recall.toFixed(3)} (${QUESTIONS.length - missed.length}/${QUESTIONS.length}); missed: ${JSON.stringify(missed)}\n`,
  );

describe('Retrieval quality on the project docs (real Postgres)', () => {
  let fake: FakeOpenAI;
  let lexical: TestServer;
  let hybrid: TestServer;
  let lexicalSpace: number;
  let hybridSpace: number;

  beforeAll(async () => {
    process.env[KEY_ENV] = 'sk-quality-embed';
    fake = await startFakeOpenAI({ apiKey: 'sk-quality-embed' });
    lexical = await startTestServer();
    hybrid = await startTestServer({ MODELS_FILE: embeddingModelsFile(fake.url, KEY_ENV) });
    lexicalSpace = await ingest(lexical);
    hybridSpace = await ingest(hybrid);
  });
  afterAll(async () => {
    await lexical.close();
    await hybrid.close();
    await fake.close();
  });

  it('finds the answering chunk in the top 5 for at least 80% of 35 questions (lexical recall@5)', async () => {
    expect(QUESTIONS.length).toBeGreaterThanOrEqual(30);
    const result = await recallAt5(lexical, lexicalSpace);
    report('lexical', result);
    expect(result.recall).toBeGreaterThanOrEqual(0.8);
  });

  it('keeps recall@5 at 80% or more with the (fake, bag-of-words) embedding model fused in (hybrid)', async () => {
    const result = await recallAt5(hybrid, hybridSpace);
    report('hybrid', result);
    // Every query went through the vector ranking too.
    expect(fake.embeddingRequests.length).toBeGreaterThanOrEqual(QUESTIONS.length);
    expect(result.recall).toBeGreaterThanOrEqual(0.8);
  });
});
