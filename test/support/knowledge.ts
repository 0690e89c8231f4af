import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AUTH } from './server';

export const KNOWLEDGE = '/api/v2/serve/knowledge';

type Http = ReturnType<typeof request>;

/** DB-GPT's SpaceModel as `create_space` sends it: every field, unset ones as null. */
export const spaceModel = (name: string, over: Record<string, unknown> = {}) => ({
  id: null,
  name,
  vector_type: 'Chroma',
  desc: `The ${name} space`,
  owner: 'alice',
  context: null,
  ...over,
});

/** Creates a space (201 expected) and returns it. */
export async function createSpace(
  http: Http,
  name: string,
  over: Record<string, unknown> = {},
): Promise<{ id: number; name: string }> {
  const res = await http.post(`${KNOWLEDGE}/spaces`).set(AUTH).send(spaceModel(name, over));
  if (res.status !== 201) throw new Error(`create space ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as { id: number; name: string };
}

/** `POST /documents` as multipart with a file, as DB-GPT's web UI and curl send it. */
export function uploadDocument(
  http: Http,
  spaceId: number,
  fileName: string,
  content: Buffer | string,
  docName?: string,
) {
  return http
    .post(`${KNOWLEDGE}/documents`)
    .set(AUTH)
    .field('doc_type', 'DOCUMENT')
    .field('space_id', String(spaceId))
    .field('doc_name', docName ?? fileName)
    .attach('doc_file', Buffer.isBuffer(content) ? content : Buffer.from(content), fileName);
}

/** `POST /documents/sync` as DB-GPT's client sends it (a list), then polls the document until it is not RUNNING. */
export async function syncAndWait(
  http: Http,
  docId: number,
  spaceId: number,
  chunkParameters: Record<string, unknown> | null = null,
): Promise<{ status: string; chunk_size: number; result: string }> {
  const res = await http
    .post(`${KNOWLEDGE}/documents/sync`)
    .set(AUTH)
    .send([{ doc_id: String(docId), space_id: String(spaceId), model_name: null, chunk_parameters: chunkParameters }]);
  if (res.status !== 200) throw new Error(`sync ${docId}: ${res.status} ${JSON.stringify(res.body)}`);
  for (let i = 0; i < 400; i++) {
    const doc = await http.get(`${KNOWLEDGE}/documents/${docId}`).set(AUTH);
    if (doc.body.data.status !== 'RUNNING')
      return doc.body.data as { status: string; chunk_size: number; result: string };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`document ${docId} still RUNNING`);
}

/**
 * A models file with a chat model and the embedding model `fake-embed`, both
 * on `upstreamUrl` (a fake OpenAI-compatible server) with the key in `keyEnv`;
 * returns its path (in a fresh temporary folder).
 */
export function embeddingModelsFile(upstreamUrl: string, keyEnv: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ensemble-embed-'));
  const path = join(dir, 'models.json');
  const entry = { provider: 'openai', base_url: upstreamUrl, api_key_env: keyEnv };
  writeFileSync(
    path,
    JSON.stringify({
      default: 'fake-gpt',
      models: [
        { name: 'fake-gpt', model: 'gpt-4o-mini', ...entry },
        { name: 'fake-embed', type: 'embedding', model: 'text-embedding-3-small', batch_size: 8, ...entry },
      ],
    }),
  );
  return path;
}

/** The key the fake upstream of the embedding tests accepts, and the variable the models file reads it from. */
export const EMBED_KEY_ENV = 'ENSEMBLE_TEST_EMBED_KEY';
export const EMBED_KEY = 'sk-fake-embed-key-0123';

/**
 * Three documents with no word in common with the queries the vector tests
 * ask ("doctor", "sedan", …): only their vectors can find them.
 */
export const VECTOR_DOCS = {
  'clinic.txt': 'The physician examined every patient before noon.',
  'harbour.txt': 'Harbour cranes unload containers from the ships at night.',
  'garage.txt': 'An automobile needs new tyres each winter.',
};
