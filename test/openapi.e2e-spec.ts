/**
 * The OpenAPI document cannot drift from the answers: real requests on the
 * apps, conversations, datasources, audit, models, tools and health routes,
 * each answer's body validated against the schema the served document
 * declares for that route and status (`$ref`s resolved, OpenAPI's `nullable`
 * turned into JSON Schema, and every documented object closed to fields it
 * does not list), so a field renamed, added or retyped on either side fails.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { rawPost } from './support/chat-env';
import { DatasourceEnv, startDatasourceEnv } from './support/datasource-env';
import type { ChatRequestBody, FakeReply } from './support/fake-openai';
import { createTestDatabase, TestDatabase } from './support/database';
import { PgProxy } from './support/pg-proxy';
import { AUTH, startTestServer, TestServer } from './support/server';
import { createSqliteTarget } from './support/target-databases';
import { KNOWLEDGE, spaceModel, uploadDocument } from './support/knowledge';

type Schema = Record<string, unknown>;
interface Operation {
  tags?: string[];
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const APPS = '/api/v2/serve/apps';
const DS = '/api/v2/serve/datasources';
const CONVERSATIONS = '/api/v2/conversations';
const CHAT = '/api/v2/chat/completions';
const STDIO_SCRIPT = join(__dirname, 'support', 'mcp-stdio-server.js');

/** OpenAPI keywords JSON Schema does not know (annotations only). */
const ANNOTATIONS = new Set(['example', 'xml', 'externalDocs', 'deprecated', 'discriminator']);
const REF_PREFIX = '#/components/schemas/';

/**
 * An OpenAPI 3.0 schema as JSON Schema (draft-07): component `$ref`s point
 * into `definitions`, `nullable: true` becomes "or null", and an object that
 * lists its properties but says nothing of others is closed
 * (`additionalProperties: false`), so an undocumented field fails.
 */
function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema)) {
    if (ANNOTATIONS.has(key) || key === 'nullable') continue;
    if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX)) {
      out.$ref = `#/definitions/${value.slice(REF_PREFIX.length)}`;
    } else if (key === 'properties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, toJsonSchema(v)]));
    } else {
      out[key] = toJsonSchema(value);
    }
  }
  if (out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false;
  return (schema as Schema).nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

/** Every object in a schema ($refs followed) that says nothing of its fields: the drift this spec exists to stop. */
function looseObjects(schema: unknown, doc: OpenApiDocument, at = '', seen = new Set<string>()): string[] {
  if (Array.isArray(schema)) return schema.flatMap((s, i) => looseObjects(s, doc, `${at}[${i}]`, seen));
  if (schema === null || typeof schema !== 'object') return [];
  const s = schema as Schema;
  if (typeof s.$ref === 'string') {
    const name = s.$ref.slice(REF_PREFIX.length);
    if (seen.has(name)) return [];
    seen.add(name);
    return looseObjects(doc.components.schemas[name], doc, name, seen);
  }
  const own =
    s.type === 'object' && s.properties === undefined && s.additionalProperties === undefined ? [at || '(root)'] : [];
  return [
    ...own,
    ...Object.entries(s).flatMap(([k, v]) =>
      k === 'properties'
        ? Object.entries(v as Schema).flatMap(([p, ps]) => looseObjects(ps, doc, `${at}.${p}`, seen))
        : typeof v === 'object'
          ? looseObjects(v, doc, `${at}/${k}`, seen)
          : [],
    ),
  ];
}

const PLAN = JSON.stringify([
  { serial_number: 1, agent: 'AI Assistant', content: 'Collect the facts', rely: '' },
  { serial_number: 2, agent: 'Summarizer', content: 'Summarize the facts', rely: '1' },
]);
const isPlanner = (body: ChatRequestBody) =>
  (body.messages ?? []).some((m) => JSON.stringify(m.content).includes('serial_number'));

/** Checks answers against the served document: the schema it declares for their route and status. */
class DocumentedAnswers {
  readonly ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  private readonly validators = new Map<string, ValidateFunction>();
  /** `METHOD /path status` of every answer validated. */
  readonly checked = new Set<string>();

  constructor(readonly doc: OpenApiDocument) {
    this.ajv.addFormat('date-time', (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s));
    this.ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  }

  /** The JSON schema the document declares for this route and status. */
  declared(method: string, path: string, status: number): Schema {
    const operation = this.doc.paths[path]?.[method];
    if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not in the document`);
    const schema = operation.responses[String(status)]?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`${method.toUpperCase()} ${path} declares no JSON body for ${status}`);
    return schema;
  }

  /** A validator of a standalone schema (converted as the document's are). */
  compile(schema: Schema): ValidateFunction {
    return this.ajv.compile(toJsonSchema(schema) as Schema);
  }

  /** Asserts the answer's status is `status` and its body matches what the document declares for it. */
  expect(method: string, path: string, res: { status: number; body: unknown }, status: number): void {
    expect(res.status).toBe(status);
    const key = `${method.toUpperCase()} ${path} ${status}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile({
        ...(toJsonSchema(this.declared(method, path, status)) as Schema),
        definitions: toJsonSchema(this.doc.components.schemas) as Schema,
      });
      this.validators.set(key, validate);
    }
    const valid = validate(res.body);
    expect({ route: key, errors: valid ? [] : validate.errors }).toEqual({ route: key, errors: [] });
    this.checked.add(key);
  }
}

describe('OpenAPI document against real answers', () => {
  let env: DatasourceEnv;
  let http: ReturnType<typeof request>;
  let doc: OpenApiDocument;
  let answers: DocumentedAnswers;
  let toolsDir: string;

  beforeAll(async () => {
    toolsDir = mkdtempSync(join(tmpdir(), 'ensemble-openapi-tools-'));
    const toolsFile = join(toolsDir, 'tools.json');
    writeFileSync(
      toolsFile,
      JSON.stringify({
        servers: [
          { name: 'local', transport: 'stdio', command: process.execPath, args: [STDIO_SCRIPT], timeout_ms: 5000 },
          { name: 'down', transport: 'streamable_http', url: 'http://127.0.0.1:9/mcp', timeout_ms: 500 },
        ],
      }),
    );
    env = await startDatasourceEnv({ TOOLS_FILE: toolsFile });
    http = request(env.origin);
    doc = (await http.get('/api/docs-json').expect(200)).body as OpenApiDocument;
    answers = new DocumentedAnswers(doc);
  }, 60_000);
  afterAll(async () => {
    await env?.close();
    if (toolsDir) rmSync(toolsDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    env.fake.reset();
    env.fake.setHandler((body): FakeReply => (isPlanner(body) ? { text: PLAN } : { text: 'A stored answer.' }));
  });

  const expectDocumented = (method: string, path: string, res: { status: number; body: unknown }, status: number) =>
    answers.expect(method, path, res, status);

  it('closes documented objects and turns nullable into JSON Schema', () => {
    expect(toJsonSchema({ type: 'object', properties: { a: { type: 'string', nullable: true } } })).toEqual({
      type: 'object',
      properties: { a: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
      additionalProperties: false,
    });
    const closed = answers.compile({ type: 'object', properties: { a: { type: 'string' } } });
    expect(closed({ a: 'x' })).toBe(true);
    expect(closed({ a: 'x', b: 1 })).toBe(false);
    expect(closed({ a: null })).toBe(false);
  });

  it('apps: create, get, list, update, collect, uncollect, delete', async () => {
    const created = await http
      .post(APPS)
      .set(AUTH)
      .send({
        app_name: 'documented',
        app_describe: 'checks the docs',
        team_mode: 'auto_plan',
        team_context: 'plain context',
        param_need: [{ type: 'temperature', value: 0.5 }],
        recommend_questions: [{ question: 'what?' }],
        details: [
          {
            agent_name: 'AI Assistant',
            llm_strategy: 'priority',
            llm_strategy_value: 'fake-gpt',
            resources: [{ type: 'internet', name: 'web', value: '' }],
          },
          { agent_name: 'Summarizer', prompt_template: 'Be short.' },
        ],
      });
    expectDocumented('post', APPS, created, 201);
    const code = created.body.data.app_code as string;
    const item = `${APPS}/{app_code}`;
    expectDocumented('get', item, await http.get(`${APPS}/${code}`).set(AUTH), 200);
    expectDocumented('get', APPS, await http.get(APPS).query({ page_size: 5 }).set(AUTH), 200);
    const native = await http
      .post(APPS)
      .set(AUTH)
      .send({
        app_name: 'native',
        team_mode: 'native_app',
        team_context: { chat_scene: 'chat_normal' },
        details: [{ agent_name: 'AI Assistant' }],
      });
    expectDocumented('post', APPS, native, 201);
    expectDocumented(
      'put',
      item,
      await http.put(`${APPS}/${code}`).set(AUTH).send({ app_describe: 'updated', details: [] }),
      200,
    );
    const collect = `${item}/collect`;
    expectDocumented(
      'post',
      collect,
      await http.post(`${APPS}/${code}/collect`).query({ user_code: 'u' }).set(AUTH),
      200,
    );
    expectDocumented('get', APPS, await http.get(APPS).query({ user_code: 'u' }).set(AUTH), 200);
    expectDocumented(
      'delete',
      collect,
      await http.delete(`${APPS}/${code}/collect`).query({ user_code: 'u' }).set(AUTH),
      200,
    );
    expectDocumented('delete', item, await http.delete(`${APPS}/${native.body.data.app_code}`).set(AUTH), 200);
    expectDocumented('get', item, await http.get(`${APPS}/${native.body.data.app_code}`).set(AUTH), 404);
    // Errors: the dual shape each route declares.
    expectDocumented('post', APPS, await http.post(APPS).set(AUTH).send({ app_name: 'x', team_mode: 'nope' }), 400);
    expectDocumented('get', APPS, await http.get(APPS), 401);
    expectDocumented(
      'post',
      APPS,
      await http.post(APPS).set(AUTH).set('Content-Type', 'text/plain').send('app_name=x'),
      415,
    );
  });

  it('conversations: list and get with recorded runs (plan steps, messages), then delete', async () => {
    const app = await http
      .post(APPS)
      .set(AUTH)
      .send({
        app_name: 'planner',
        team_mode: 'auto_plan',
        details: [{ agent_name: 'AI Assistant' }, { agent_name: 'Summarizer' }],
      });
    expect(app.status).toBe(201);
    const planned = await rawPost(env.origin, CHAT, {
      model: 'fake-gpt',
      messages: 'Introduce AWEL',
      chat_mode: 'chat_app',
      chat_param: app.body.data.app_code,
      user_name: 'ann',
    });
    expect(planned.status).toBe(200);
    const plain = await rawPost(env.origin, CHAT, { model: 'fake-gpt', messages: 'hello', stream: false });
    expect(plain.status).toBe(200);
    env.fake.setHandler(() => ({ status: 400 }));
    const failed = await rawPost(env.origin, CHAT, { model: 'fake-gpt', messages: 'this fails', stream: true });

    expectDocumented('get', CONVERSATIONS, await http.get(CONVERSATIONS).set(AUTH), 200);
    const item = `${CONVERSATIONS}/{conv_uid}`;
    const withPlan = await http.get(`${CONVERSATIONS}/${planned.headers['x-conv-uid'] as string}`).set(AUTH);
    expectDocumented('get', item, withPlan, 200);
    expect(withPlan.body.data.turns[0].plan_steps.length).toBeGreaterThan(0);
    expect(withPlan.body.data.turns[0].messages.length).toBeGreaterThan(0);
    expectDocumented(
      'get',
      item,
      await http.get(`${CONVERSATIONS}/${plain.headers['x-conv-uid'] as string}`).set(AUTH),
      200,
    );
    const failedConv = await http.get(`${CONVERSATIONS}/${failed.headers['x-conv-uid'] as string}`).set(AUTH);
    expectDocumented('get', item, failedConv, 200);
    expect(failedConv.body.data.turns[0].state).toBe('failed');
    expectDocumented(
      'delete',
      item,
      await http.delete(`${CONVERSATIONS}/${plain.headers['x-conv-uid'] as string}`).set(AUTH),
      200,
    );
    expectDocumented('get', item, await http.get(`${CONVERSATIONS}/no-such-conversation`).set(AUTH), 404);
  });

  it('datasources: create, get, list, update, test, types, refresh and delete a sqlite file', async () => {
    const { file } = createSqliteTarget(env.filesDir);
    const created = await http.post(DS).set(AUTH).send({ db_type: 'sqlite', db_name: 'lite', db_path: file });
    expectDocumented('post', DS, created, 200);
    const id = created.body.data.id as number;
    const item = `${DS}/{id}`;
    expectDocumented('get', item, await http.get(`${DS}/${id}`).set(AUTH), 200);
    expectDocumented('get', DS, await http.get(DS).set(AUTH), 200);
    expectDocumented(
      'put',
      DS,
      await http.put(DS).set(AUTH).send({ id, db_type: 'sqlite', db_name: 'lite', db_path: file, comment: 'sales' }),
      200,
    );
    expectDocumented(
      'post',
      `${DS}/test-connection`,
      await http.post(`${DS}/test-connection`).set(AUTH).send({ db_type: 'sqlite', db_name: 'x', db_path: file }),
      200,
    );
    expectDocumented(
      'get',
      '/api/v2/serve/datasource-types',
      await http.get('/api/v2/serve/datasource-types').set(AUTH),
      200,
    );
    expectDocumented('post', `${item}/refresh`, await http.post(`${DS}/${id}/refresh`).set(AUTH), 200);
    expectDocumented('delete', item, await http.delete(`${DS}/${id}`).set(AUTH), 200);
    expectDocumented('get', item, await http.get(`${DS}/${id}`).set(AUTH), 404);
  });

  it('keys: create (the secret once), list, revoke', async () => {
    const KEYS = '/api/v2/serve/keys';
    const created = await http
      .post(KEYS)
      .set(AUTH)
      .send({ name: 'docs', scopes: ['chat'], app_codes: ['some-app'], rate_limit_per_minute: 30 });
    expectDocumented('post', KEYS, created, 201);
    expect(created.body.data.key).toMatch(/^ens_/);
    const admin = await http
      .post(KEYS)
      .set(AUTH)
      .send({ name: 'docs-admin', scopes: ['admin'] });
    expectDocumented('post', KEYS, admin, 201);
    const list = await http.get(KEYS).set(AUTH);
    expectDocumented('get', KEYS, list, 200);
    expect(list.body.data.items.map((k: { name: string }) => k.name)).toEqual(
      expect.arrayContaining(['docs', 'docs-admin']),
    );
    const revoked = await http.delete(`${KEYS}/${created.body.data.id}`).set(AUTH);
    expectDocumented('delete', `${KEYS}/{id}`, revoked, 200);
    expect(revoked.body.data).toMatchObject({ id: created.body.data.id, revoked: true });
    expect(revoked.body.data.key).toBeUndefined();
  });

  it('knowledge: spaces, a document uploaded, synced and retrieved, deletes', async () => {
    const space = await http.post(`${KNOWLEDGE}/spaces`).set(AUTH).send(spaceModel('docs-space'));
    expectDocumented('post', `${KNOWLEDGE}/spaces`, space, 201);
    const id = space.body.data.id as number;
    expectDocumented('get', `${KNOWLEDGE}/spaces/{id}`, await http.get(`${KNOWLEDGE}/spaces/${id}`).set(AUTH), 200);
    expectDocumented('get', `${KNOWLEDGE}/spaces`, await http.get(`${KNOWLEDGE}/spaces`).set(AUTH), 200);
    const updated = await http
      .put(`${KNOWLEDGE}/spaces`)
      .set(AUTH)
      .send(spaceModel('docs-space', { id, desc: 'updated' }));
    expectDocumented('put', `${KNOWLEDGE}/spaces`, updated, 200);
    const doc = await uploadDocument(http, id, 'notes.md', '# Notes\n\nThe code word is periwinkle.\n');
    expectDocumented('post', `${KNOWLEDGE}/documents`, doc, 201);
    const docId = doc.body.data.id as number;
    const sync = await http
      .post(`${KNOWLEDGE}/documents/sync`)
      .set(AUTH)
      .send([{ doc_id: String(docId), space_id: String(id), model_name: null, chunk_parameters: null }]);
    expectDocumented('post', `${KNOWLEDGE}/documents/sync`, sync, 200);
    // Indexed in the background: the document says when it is done.
    let got = await http.get(`${KNOWLEDGE}/documents/${docId}`).set(AUTH);
    for (let i = 0; i < 400 && got.body.data.status === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      got = await http.get(`${KNOWLEDGE}/documents/${docId}`).set(AUTH);
    }
    expect(got.body.data.status).toBe('FINISHED');
    expectDocumented('get', `${KNOWLEDGE}/documents/{id}`, got, 200);
    const listed = await http.get(`${KNOWLEDGE}/documents?space_id=${id}`).set(AUTH);
    expectDocumented('get', `${KNOWLEDGE}/documents`, listed, 200);
    const hits = await http.post(`${KNOWLEDGE}/spaces/${id}/retrieve`).set(AUTH).send({ query: 'code word', top_k: 3 });
    expectDocumented('post', `${KNOWLEDGE}/spaces/{id}/retrieve`, hits, 200);
    expect(hits.body.data[0].content).toContain('periwinkle');
    const removedDoc = await http.delete(`${KNOWLEDGE}/documents/${docId}`).set(AUTH);
    expectDocumented('delete', `${KNOWLEDGE}/documents/{id}`, removedDoc, 200);
    const removed = await http.delete(`${KNOWLEDGE}/spaces/${id}`).set(AUTH);
    expectDocumented('delete', `${KNOWLEDGE}/spaces/{id}`, removed, 200);
  });

  it('chat completions: a non-stream answer and the latest run status', async () => {
    const CHAT = '/api/v2/chat/completions';
    const answer = await http
      .post(CHAT)
      .set(AUTH)
      .send({ model: 'fake-gpt', messages: 'hello', conv_uid: 'docs-chat', stream: false });
    expectDocumented('post', CHAT, answer, 200);
    expect(answer.body.choices[0].message.content).toBe('A stored answer.');
    const status = await http.get(`${CHAT}/docs-chat`).set(AUTH);
    expectDocumented('get', `${CHAT}/{conv_uid}`, status, 200);
    expect(status.body.data).toMatchObject({ state: 'complete', content: 'A stored answer.' });
  });

  it('chat completions: the request body is documented from the class that validates it', async () => {
    const operation = doc.paths[CHAT].post as Operation & {
      requestBody: { content: Record<string, { schema: Schema }> };
    };
    const validate = answers.ajv.compile({
      ...(toJsonSchema(operation.requestBody.content['application/json'].schema) as Schema),
      definitions: toJsonSchema(doc.components.schemas) as Schema,
    });
    const accepted = [
      { model: 'fake-gpt', messages: 'hello', stream: false },
      { model: 'fake-gpt', messages: ['one', 'two'], stream_options: { include_usage: true }, stop: ['x'] },
      {
        model: 'fake-gpt',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'hello' }] },
        ],
        conv_uid: 'docs-request',
        max_new_tokens: 20,
        user_name: null,
      },
    ];
    for (const body of accepted) {
      expect((await http.post(CHAT).set(AUTH).send(body)).status).toBe(200);
      expect({ body, errors: validate(body) ? [] : validate.errors }).toEqual({ body, errors: [] });
    }
    for (const refused of [
      { messages: 'hello' },
      { model: 'fake-gpt', messages: [{ role: 'tool', content: 'x' }] },
      { model: 'fake-gpt', messages: 'hello', conv_uid: 'not a uid' },
    ]) {
      expect((await http.post(CHAT).set(AUTH).send(refused)).status).toBe(400);
      expect(validate(refused)).toBe(false);
    }
  });

  it('audit, models, tools, health and readiness', async () => {
    await http.post(APPS).set(AUTH).send({ app_name: 'audited', team_mode: 'single_agent', details: [] }).expect(201);
    const audit = await http.get('/api/v2/serve/audit').set(AUTH);
    expectDocumented('get', '/api/v2/serve/audit', audit, 200);
    expect(audit.body.data.items.length).toBeGreaterThan(0);
    expectDocumented('get', '/api/v2/models', await http.get('/api/v2/models').set(AUTH), 200);
    const tools = await http.get('/api/v2/serve/tools').set(AUTH);
    expectDocumented('get', '/api/v2/serve/tools', tools, 200);
    expect(tools.body.data.map((s: { name: string }) => s.name).sort()).toEqual(['down', 'local']);
    expect(tools.body.data.find((s: { name: string }) => s.name === 'local').tools.length).toBeGreaterThan(0);
    const health = await http.get('/api/health');
    expectDocumented('get', '/api/health', health, 200);
    expect(health.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
    const ready = await http.get('/api/ready');
    expectDocumented('get', '/api/ready', ready, 200);
    expect(Object.keys(ready.body.details)).toEqual(['database', 'migrations', 'tools']);
    // The text route answers the content type it declares (parameters in any order).
    const metrics = await http.get('/api/metrics').set(AUTH).expect(200);
    const mediaType = (t: string) =>
      t
        .split(';')
        .map((p) => p.trim())
        .sort();
    const declaredTypes = Object.keys(doc.paths['/api/metrics'].get.responses['200'].content ?? {});
    expect(declaredTypes.map(mediaType)).toEqual([mediaType(metrics.headers['content-type'])]);
  });

  it('validated an answer of every route of these controllers', () => {
    const covered = (tag: string) =>
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops)
          .filter(([, op]) => op.tags?.includes(tag))
          .map(([method]) => `${method.toUpperCase()} ${path}`),
      );
    const routes = ['apps', 'conversations', 'datasources', 'audit', 'tools', 'health', 'keys', 'knowledge'].flatMap(
      covered,
    );
    routes.push('GET /api/v2/models');
    const seen = [...answers.checked].map((k) => k.replace(/ \d+$/, ''));
    expect(routes.filter((r) => !seen.includes(r))).toEqual([]);
  });

  it('describes every field of these answers (no bare objects)', () => {
    const loose = [...answers.checked].flatMap((key) => {
      const [method, path, status] = key.split(' ');
      return looseObjects(answers.declared(method.toLowerCase(), path, Number(status)), doc).map(
        (at) => `${key}: ${at}`,
      );
    });
    expect(loose).toEqual([]);
  });

  it('every operation declares a 2xx body with a schema; metrics its text content type', () => {
    const problems: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const route = `${method.toUpperCase()} ${path}`;
        const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
        if (success.length === 0) problems.push(`${route}: no 2xx response`);
        for (const [status, response] of success) {
          const types = Object.entries(response.content ?? {});
          if (types.length === 0) problems.push(`${route} ${status}: no content`);
          for (const [type, media] of types) {
            if (!media.schema) problems.push(`${route} ${status} ${type}: no schema`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    const contentTypes = (path: string, method: string) =>
      Object.entries(doc.paths[path][method].responses)
        .filter(([status]) => /^2\d\d$/.test(status))
        .flatMap(([, r]) => Object.keys(r.content ?? {}));
    expect(contentTypes('/api/metrics', 'get')).toEqual([expect.stringMatching(/^text\/plain; version=0\.0\.4/)]);
  });
});

describe('OpenAPI document: readiness with the database unreachable', () => {
  let db: TestDatabase;
  let proxy: PgProxy;
  let server: TestServer;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = await PgProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    server = await startTestServer(
      { DATABASE_URL: proxy.urlFor(db.url), DB_CONNECT_TIMEOUT_MS: '1000', DB_STATEMENT_TIMEOUT_MS: '2000' },
      { db },
    );
  }, 60_000);
  afterAll(async () => {
    proxy?.restore();
    await server?.close();
    await proxy?.close();
    await db?.drop();
  });

  it('answers 503 with the body the document declares (the dual error shape)', async () => {
    const http = request(server.origin);
    const answers = new DocumentedAnswers((await http.get('/api/docs-json').expect(200)).body as OpenApiDocument);
    proxy.refuse();
    proxy.cut();
    const ready = await http.get('/api/ready');
    answers.expect('get', '/api/ready', ready, 503);
    expect(ready.body.err_code).toBe('database_unavailable');
    expect(ready.headers['retry-after']).toBe('5');
    proxy.restore();
  });
});
