import { Client } from 'pg';
import request from 'supertest';
import { makeDocx } from './support/docx';
import { makePdf } from './support/pdf';
import { expectDualError } from './support/expect-error';
import {
  createSpace as newSpace,
  KNOWLEDGE,
  spaceModel,
  syncAndWait as sync,
  uploadDocument,
} from './support/knowledge';
import { AUTH, startTestServer, TestServer } from './support/server';

const BASE = KNOWLEDGE;
const MAX_FILE = 20_000;

const MARKDOWN = [
  '# Ensemble guide',
  '',
  'Ensemble serves multi-agent apps.',
  '',
  '## Installing',
  '',
  'Run npm install, then start the server with npm start. The embedded database needs no setup.',
  '',
  '## Retrieval',
  '',
  'Knowledge spaces rank chunks with Postgres full-text search and trigram similarity.',
].join('\n');

describe('Knowledge API (real Postgres)', () => {
  let server: TestServer;
  let http: ReturnType<typeof request>;
  let pg: Client;

  const createSpace = (name: string, over: Record<string, unknown> = {}) => newSpace(http, name, over);
  const upload = (spaceId: number, name: string, content: Buffer | string, docName?: string) =>
    uploadDocument(http, spaceId, name, content, docName);
  const syncAndWait = (docId: number, spaceId: number, chunkParameters: Record<string, unknown> | null = null) =>
    sync(http, docId, spaceId, chunkParameters);
  const retrieve = async (spaceId: number, query: string, topK = 5) => {
    const res = await http.post(`${BASE}/spaces/${spaceId}/retrieve`).set(AUTH).send({ query, top_k: topK });
    expect(res.status).toBe(200);
    return res.body.data as {
      chunk_id: string;
      doc_name: string;
      content: string;
      metadata: Record<string, unknown>;
      score: number;
    }[];
  };
  const chunkCount = async (where: string, id: number) =>
    Number((await pg.query(`SELECT count(*) AS n FROM knowledge_chunks WHERE ${where} = $1`, [id])).rows[0].n);

  beforeAll(async () => {
    server = await startTestServer({ KNOWLEDGE_MAX_FILE_SIZE: String(MAX_FILE) });
    http = request(server.origin);
    pg = new Client({ connectionString: server.db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg.end();
    await server.close();
  });

  describe('spaces', () => {
    it('creates, reads, lists, updates and deletes a space as DB-GPT client calls them', async () => {
      const created = await http.post(`${BASE}/spaces`).set(AUTH).send(spaceModel('handbook'));
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        success: true,
        err_code: null,
        err_msg: null,
        data: {
          id: expect.any(Number),
          name: 'handbook',
          vector_type: 'Chroma',
          desc: 'The handbook space',
          owner: 'alice',
          context: null,
          language: 'simple',
          docs: 0,
          gmt_created: expect.any(String),
          gmt_modified: expect.any(String),
        },
      });
      const id = created.body.data.id as number;

      const got = await http.get(`${BASE}/spaces/${id}`).set(AUTH);
      expect(got.body.data).toEqual(created.body.data);

      const list = await http.get(`${BASE}/spaces`).set(AUTH);
      expect(list.status).toBe(200);
      expect(list.body.data.items.map((s: { name: string }) => s.name)).toContain('handbook');

      const updated = await http
        .put(`${BASE}/spaces`)
        .set(AUTH)
        .send(spaceModel('handbook', { id, desc: 'Updated', language: 'english' }));
      expect(updated.status).toBe(200);
      expect(updated.body.data).toMatchObject({ id, name: 'handbook', desc: 'Updated', language: 'english' });

      const removed = await http.delete(`${BASE}/spaces/${id}`).set(AUTH);
      expect(removed.status).toBe(200);
      expect(removed.body.data).toMatchObject({ id, name: 'handbook' });
      expectDualError(await http.get(`${BASE}/spaces/${id}`).set(AUTH), 404, 'space_not_found', 'id');
    });

    it('refuses a duplicate name (409), an unknown language (400), unknown ids (404) and a missing key (401)', async () => {
      await createSpace('dup');
      expectDualError(
        await http.post(`${BASE}/spaces`).set(AUTH).send(spaceModel('dup')),
        409,
        'space_name_conflict',
        'name',
      );
      expectDualError(
        await http
          .post(`${BASE}/spaces`)
          .set(AUTH)
          .send(spaceModel('klingon', { language: 'klingon' })),
        400,
        'validation_error',
        'language',
      );
      expectDualError(await http.get(`${BASE}/spaces/999999`).set(AUTH), 404, 'space_not_found', 'id');
      expectDualError(await http.get(`${BASE}/spaces/abc`).set(AUTH), 404, 'space_not_found', 'id');
      expectDualError(
        await http
          .put(`${BASE}/spaces`)
          .set(AUTH)
          .send(spaceModel('dup', { id: 999999 })),
        404,
        'space_not_found',
        'id',
      );
      for (const res of [
        await http.get(`${BASE}/spaces`),
        await http.post(`${BASE}/spaces`).send(spaceModel('open')),
        await http.post(`${BASE}/spaces/1/retrieve`).send({ query: 'x' }),
        await http.get(`${BASE}/documents`),
      ]) {
        expect(res.status).toBe(401);
      }
    });
  });

  describe('documents', () => {
    let space: { id: number };
    beforeAll(async () => {
      space = await createSpace('docs');
    });

    it('adds a TEXT document sent as query parameters (DB-GPT client), indexes it on sync and retrieves it', async () => {
      const res = await http
        .post(`${BASE}/documents`)
        .query({
          id: '',
          doc_name: 'notes.txt',
          doc_type: 'TEXT',
          content: 'The launch code word is papaya.',
          doc_source: '',
          space_id: String(space.id),
        })
        .set(AUTH);
      expect(res.status).toBe(201);
      expect(res.body.data).toEqual({
        id: expect.any(Number),
        doc_name: 'notes.txt',
        doc_type: 'TEXT',
        content: 'The launch code word is papaya.',
        doc_source: '',
        space_id: String(space.id),
        space: 'docs',
        format: 'text',
        status: 'TODO',
        result: '',
        chunk_size: 0,
        last_sync: null,
        gmt_created: expect.any(String),
        gmt_modified: expect.any(String),
      });
      const doc = await syncAndWait(res.body.data.id, space.id);
      expect(doc).toMatchObject({ status: 'FINISHED', chunk_size: 1, last_sync: expect.any(String) });
      const hits = await retrieve(space.id, 'what is the code word?');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ doc_name: 'notes.txt', content: 'The launch code word is papaya.' });
      expect(hits[0].score).toBeGreaterThan(0);
    });

    it('parses Markdown, plain text, HTML, CSV and Word files uploaded as multipart', async () => {
      const md = await upload(space.id, 'guide.md', MARKDOWN);
      expect(md.status).toBe(201);
      expect(md.body.data).toMatchObject({
        doc_name: 'guide.md',
        doc_type: 'DOCUMENT',
        format: 'markdown',
        status: 'TODO',
      });
      expect(await syncAndWait(md.body.data.id, space.id)).toMatchObject({ status: 'FINISHED', chunk_size: 3 });
      const [install] = await retrieve(space.id, 'how do I install and start the server', 1);
      expect(install.content).toBe(
        '## Installing\n\nRun npm install, then start the server with npm start. The embedded database needs no setup.',
      );
      expect(install.metadata).toEqual({ source: 'guide.md', Header1: 'Ensemble guide', Header2: 'Installing' });

      const txt = await upload(space.id, 'fruit.txt', 'Mangosteen is the queen of fruits.\n');
      expect(txt.body.data.format).toBe('text');
      await syncAndWait(txt.body.data.id, space.id);
      expect((await retrieve(space.id, 'queen of fruits', 1))[0].content).toBe('Mangosteen is the queen of fruits.');

      const html = await upload(
        space.id,
        'page.html',
        '<html><head><title>Ships</title><style>p{color:red}</style><script>var hidden = "zeppelin";</script></head>' +
          '<body><h1>Harbour</h1><p>The harbour master &amp; crew inspect every tanker.</p></body></html>',
      );
      expect(html.body.data.format).toBe('html');
      await syncAndWait(html.body.data.id, space.id);
      const [harbour] = await retrieve(space.id, 'tanker inspection crew', 1);
      expect(harbour.content).toBe('# Harbour\n\nThe harbour master & crew inspect every tanker.');
      expect(await retrieve(space.id, 'zeppelin')).toEqual([]);

      const csv = await upload(space.id, 'planets.csv', 'planet,moons\nMars,2\nJupiter,95\n');
      expect(csv.body.data.format).toBe('csv');
      await syncAndWait(csv.body.data.id, space.id, {
        chunk_strategy: 'CHUNK_BY_PARAGRAPH',
        chunk_size: 100,
        chunk_overlap: 0,
      });
      const [jupiter] = await retrieve(space.id, 'Jupiter moons', 1);
      expect(jupiter.content).toBe('planet: Jupiter\nmoons: 95');

      const docx = await upload(
        space.id,
        'memo.docx',
        makeDocx(['Quarterly memo', 'The lighthouse keeper logs every storm.']),
      );
      expect(docx.status).toBe(201);
      expect(docx.body.data.format).toBe('docx');
      await syncAndWait(docx.body.data.id, space.id);
      expect((await retrieve(space.id, 'lighthouse storm log', 1))[0]).toMatchObject({
        doc_name: 'memo.docx',
        content: 'Quarterly memo\n\nThe lighthouse keeper logs every storm.',
      });
    });

    it('parses a PDF (a page per paragraph) and refuses a corrupt one with a 400 naming it', async () => {
      const pdf = await upload(
        space.id,
        'atlas.pdf',
        makePdf([
          ['Atlas of rivers', 'The Danube flows through ten countries.'],
          ['Appendix', 'Glaciers (ice) feed the Rhone in summer.'],
        ]),
      );
      expect(pdf.status).toBe(201);
      expect(pdf.body.data).toMatchObject({
        doc_name: 'atlas.pdf',
        doc_type: 'DOCUMENT',
        format: 'pdf',
        status: 'TODO',
      });
      expect(await syncAndWait(pdf.body.data.id, space.id, { chunk_strategy: 'CHUNK_BY_PARAGRAPH' })).toMatchObject({
        status: 'FINISHED',
        chunk_size: 2,
      });
      expect((await retrieve(space.id, 'which river crosses ten countries', 1))[0]).toMatchObject({
        doc_name: 'atlas.pdf',
        content: 'Atlas of rivers\nThe Danube flows through ten countries.',
      });
      expect((await retrieve(space.id, 'glaciers Rhone', 1))[0].content).toBe(
        'Appendix\nGlaciers (ice) feed the Rhone in summer.',
      );

      const before = Number((await pg.query(`SELECT count(*) AS n FROM knowledge_documents`)).rows[0].n);
      const broken = await upload(space.id, 'broken.pdf', Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog'));
      expectDualError(broken, 400, 'invalid_document', 'doc_file');
      expect(broken.body.err_msg).toBe('"broken.pdf" is not a readable PDF: it is not a valid PDF.');
      const truncated = makePdf([['Cut short']]).subarray(0, 60);
      expectDualError(await upload(space.id, 'cut.pdf', truncated), 400, 'invalid_document', 'doc_file');
      const blank = await upload(space.id, 'blank.pdf', makePdf([[]]));
      expectDualError(blank, 400, 'invalid_document', 'doc_file');
      expect(blank.body.err_msg).toBe('"blank.pdf" has no text to index.');
      expect(Number((await pg.query(`SELECT count(*) AS n FROM knowledge_documents`)).rows[0].n)).toBe(before);
    });

    it('refuses unknown (415), corrupt (400) and oversized (413) files, naming them; nothing is stored', async () => {
      const before = Number((await pg.query(`SELECT count(*) AS n FROM knowledge_documents`)).rows[0].n);
      expectDualError(
        await upload(space.id, 'tool.exe', Buffer.from([0x4d, 0x5a, 0x90, 0])),
        415,
        'unsupported_document_type',
        'doc_file',
      );
      const bad = await upload(space.id, 'broken.txt', Buffer.from([0x66, 0xff, 0xfe, 0x00, 0x41]));
      expectDualError(bad, 400, 'invalid_document', 'doc_file');
      expect(bad.body.err_msg).toContain('"broken.txt"');
      expectDualError(
        await upload(space.id, 'rows.csv', 'a,b\n1,2,3\n"unterminated\n'),
        400,
        'invalid_document',
        'doc_file',
      );
      expectDualError(await upload(space.id, 'empty.md', '   \n'), 400, 'invalid_document', 'doc_file');
      const notWord = await upload(space.id, 'fake.docx', 'just text pretending');
      expectDualError(notWord, 400, 'invalid_document', 'doc_file');
      expect(notWord.body.err_msg).toBe('"fake.docx" is not a readable Word (.docx) document.');
      const big = await upload(space.id, 'big.md', 'x'.repeat(MAX_FILE + 1));
      expectDualError(big, 413, 'payload_too_large', 'doc_file');
      expectDualError(
        await http
          .post(`${BASE}/documents`)
          .set(AUTH)
          .field('doc_type', 'URL')
          .field('space_id', String(space.id))
          .field('doc_name', 'x'),
        400,
        'validation_error',
        'doc_type',
      );
      expectDualError(await upload(999999, 'a.md', '# A'), 404, 'space_not_found', 'space_id');
      expect(Number((await pg.query(`SELECT count(*) AS n FROM knowledge_documents`)).rows[0].n)).toBe(before);
    });

    it('validates the sync body: a list of known documents with known chunk strategies', async () => {
      const doc = await http
        .post(`${BASE}/documents`)
        .query({ doc_name: 'tiny.txt', doc_type: 'TEXT', content: 'tiny', space_id: String(space.id) })
        .set(AUTH);
      const synced = await http
        .post(`${BASE}/documents/sync`)
        .set(AUTH)
        .send([
          { doc_id: String(doc.body.data.id), space_id: String(space.id), model_name: null, chunk_parameters: null },
        ]);
      expect(synced.status).toBe(200);
      expect(synced.body).toEqual({ success: true, err_code: null, err_msg: null, data: [doc.body.data.id] });
      expect(await syncAndWait(doc.body.data.id, space.id)).toMatchObject({ status: 'FINISHED', chunk_size: 1 });
      expectDualError(
        await http
          .post(`${BASE}/documents/sync`)
          .set(AUTH)
          .send([{ doc_id: '999999' }]),
        404,
        'document_not_found',
        '[0].doc_id',
      );
      expectDualError(
        await http
          .post(`${BASE}/documents/sync`)
          .set(AUTH)
          .send([{ doc_id: '1', chunk_parameters: { chunk_strategy: 'CHUNK_BY_MAGIC' } }]),
        400,
        'validation_error',
        'chunk_parameters.chunk_strategy',
      );
      expectDualError(
        await http.post(`${BASE}/documents/sync`).set(AUTH).send({ doc_id: '1' }),
        400,
        'validation_error',
        null,
      );
    });

    it('refuses to sync a document that is being indexed (409 document_running), nothing marked', async () => {
      const add = (name: string) =>
        http
          .post(`${BASE}/documents`)
          .query({ doc_name: name, doc_type: 'TEXT', content: `The ${name} text.`, space_id: String(space.id) })
          .set(AUTH);
      const busy = (await add('busy.txt')).body.data.id as number;
      const idle = (await add('idle.txt')).body.data.id as number;
      await pg.query(`UPDATE knowledge_documents SET status = 'RUNNING' WHERE id = $1`, [busy]);
      const refused = await http
        .post(`${BASE}/documents/sync`)
        .set(AUTH)
        .send([{ doc_id: String(idle) }, { doc_id: String(busy) }]);
      expectDualError(refused, 409, 'document_running', '[1].doc_id');
      expect(refused.body.err_msg).toContain(`Document ${busy} is being indexed`);
      expectDualError(
        await http
          .post(`${BASE}/documents/sync`)
          .set(AUTH)
          .send([{ doc_id: String(idle) }, { doc_id: String(idle) }]),
        400,
        'validation_error',
        '[1].doc_id',
      );
      // All or none: the other document of the request was not marked either.
      expect((await http.get(`${BASE}/documents/${idle}`).set(AUTH)).body.data.status).toBe('TODO');

      // A sync cut short by a restart long ago does not block the document for ever.
      await pg.query(`UPDATE knowledge_documents SET updated_at = now() - interval '1 hour' WHERE id = $1`, [busy]);
      expect(await syncAndWait(busy, space.id)).toMatchObject({ status: 'FINISHED', chunk_size: 1 });
    });

    it('finds a Chinese document by a Chinese query (trigram path)', async () => {
      const zh = await createSpace('zh-docs');
      const a = await upload(zh.id, 'vector.md', '# 检索\n\n本文介绍知识库的向量检索方法，支持中文文档。');
      const b = await upload(zh.id, 'cooking.md', '# 烹饪\n\n红烧肉需要慢火炖煮两个小时。');
      await syncAndWait(a.body.data.id, zh.id);
      await syncAndWait(b.body.data.id, zh.id);
      const hits = await retrieve(zh.id, '向量检索', 2);
      expect(hits[0].doc_name).toBe('vector.md');
      expect(hits.map((h) => h.doc_name)).not.toContain('cooking.md');
      expect((await retrieve(zh.id, '红烧肉怎么做', 1))[0].doc_name).toBe('cooking.md');
    });

    it('deleting a document removes its chunks; deleting a space removes its documents and chunks', async () => {
      const s = await createSpace('short-lived');
      const d1 = await upload(s.id, 'one.md', MARKDOWN);
      const d2 = await upload(s.id, 'two.txt', 'Second document about harbours.');
      await syncAndWait(d1.body.data.id, s.id);
      await syncAndWait(d2.body.data.id, s.id);
      expect(await chunkCount('document_id', d1.body.data.id)).toBe(3);

      const del = await http.delete(`${BASE}/documents/${d1.body.data.id}`).set(AUTH);
      expect(del.status).toBe(200);
      expect(del.body.data).toMatchObject({ id: d1.body.data.id, doc_name: 'one.md' });
      expect(await chunkCount('document_id', d1.body.data.id)).toBe(0);
      expect(await chunkCount('space_id', s.id)).toBe(1);
      // The space's term counts follow: only the remaining document's words are left.
      const terms = await pg.query(
        `SELECT lexeme, df FROM knowledge_terms WHERE space_id = $1 AND df > 0 ORDER BY lexeme`,
        [s.id],
      );
      expect(terms.rows).toEqual(['about', 'document', 'harbours', 'second'].map((lexeme) => ({ lexeme, df: 1 })));
      expectDualError(
        await http.get(`${BASE}/documents/${d1.body.data.id}`).set(AUTH),
        404,
        'document_not_found',
        'id',
      );

      const list = await http.get(`${BASE}/documents`).query({ space_id: s.id }).set(AUTH);
      expect(list.body.data).toMatchObject({ total_count: 1, page: 1, page_size: 20 });
      expect(list.body.data.items.map((d: { doc_name: string }) => d.doc_name)).toEqual(['two.txt']);

      expect((await http.delete(`${BASE}/spaces/${s.id}`).set(AUTH)).status).toBe(200);
      expect(await chunkCount('space_id', s.id)).toBe(0);
      expect(
        Number((await pg.query(`SELECT count(*) AS n FROM knowledge_documents WHERE space_id = $1`, [s.id])).rows[0].n),
      ).toBe(0);
    });
  });

  describe('app resources', () => {
    const app = (value: string) => ({
      app_name: `kb-app-${value.length}-${Date.now()}`,
      team_mode: 'single_agent',
      details: [{ agent_name: 'Summarizer', resources: [{ type: 'knowledge', name: 'kb', value }] }],
    });

    it('checks at create and update that a knowledge resource names an existing space', async () => {
      await createSpace('app-kb');
      const bad = await http.post('/api/v2/serve/apps').set(AUTH).send(app('{"space_name": "nope", "top_k": 3}'));
      expectDualError(bad, 400, 'validation_error', 'details[0].resources[0]');
      expect(bad.body.err_msg).toContain('"nope"');
      const good = await http.post('/api/v2/serve/apps').set(AUTH).send(app('{"space_name": "app-kb", "top_k": 3}'));
      expect(good.status).toBe(201);
      const legacy = await http.post('/api/v2/serve/apps').set(AUTH).send(app('app-kb'));
      expect(legacy.status).toBe(201);
      const put = await http
        .put(`/api/v2/serve/apps/${good.body.data.app_code}`)
        .set(AUTH)
        .send({
          details: [{ agent_name: 'Summarizer', resources: [{ type: 'knowledge', name: 'kb', value: 'missing' }] }],
        });
      expectDualError(put, 400, 'validation_error', 'details[0].resources[0]');
    });
  });
});
