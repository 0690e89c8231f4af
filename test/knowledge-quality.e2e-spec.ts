import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createSpace, KNOWLEDGE, syncAndWait, uploadDocument } from './support/knowledge';
import { AUTH, startTestServer, TestServer } from './support/server';

/** The project's own docs (a snapshot) and questions, each with a passage of the chunk that answers it. */
const CORPUS = join(__dirname, 'fixtures', 'knowledge-corpus');
const QUESTIONS = JSON.parse(readFileSync(join(CORPUS, 'questions.json'), 'utf8')) as { q: string; answer: string }[];
const squash = (s: string) => s.replace(/\s+/g, ' ');

describe('Retrieval quality on the project docs (real Postgres)', () => {
  let server: TestServer;
  let http: ReturnType<typeof request>;
  let spaceId: number;

  beforeAll(async () => {
    server = await startTestServer();
    http = request(server.origin);
    spaceId = (await createSpace(http, 'ensemble-docs', { language: 'english' })).id;
    for (const file of readdirSync(CORPUS).filter((f) => f.endsWith('.md'))) {
      const doc = await uploadDocument(http, spaceId, file, readFileSync(join(CORPUS, file)));
      expect(doc.status).toBe(201);
      expect(await syncAndWait(http, doc.body.data.id, spaceId)).toMatchObject({ status: 'FINISHED' });
    }
  });
  afterAll(() => server.close());

  it('finds the answering chunk in the top 5 for at least 80% of 35 questions (lexical recall@5)', async () => {
    expect(QUESTIONS.length).toBeGreaterThanOrEqual(30);
    const missed: string[] = [];
    for (const { q, answer } of QUESTIONS) {
      const res = await http.post(`${KNOWLEDGE}/spaces/${spaceId}/retrieve`).set(AUTH).send({ query: q, top_k: 5 });
      expect(res.status).toBe(200);
      const hits = res.body.data as { content: string }[];
      if (!hits.some((h) => squash(h.content).includes(squash(answer)))) missed.push(q);
    }
    const recall = (QUESTIONS.length - missed.length) / QUESTIONS.length;
    process.stdout.write(
      `lexical recall@5 = ${recall.toFixed(3)} (${QUESTIONS.length - missed.length}/${QUESTIONS.length}); missed: ${JSON.stringify(missed)}\n`,
    );
    expect(recall).toBeGreaterThanOrEqual(0.8);
  });
});
