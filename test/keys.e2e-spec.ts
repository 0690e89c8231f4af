/**
 * Keys as data: admins create, list and revoke keys; the secret is shown
 * once and stored only as a hash; scopes decide what a key may call;
 * `app_codes` limits a chat key to some apps; revocation and expiry hold on
 * every replica within a second; admin changes land in the audit log.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import request from 'supertest';
import { createServer } from '../apps/server/src/bootstrap';
import { loadConfig } from '../apps/server/src/config/config';
import { createTestDatabase, TestDatabase } from './support/database';
import { expectDualError } from './support/expect-error';
import { API_KEY, AUTH, startTestServer, TestServer } from './support/server';

const KEYS = '/api/v2/serve/keys';
const APPS = '/api/v2/serve/apps';
const CHAT = '/api/v2/chat/completions';

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const chatBody = (over: Record<string, unknown> = {}) => ({
  model: 'ensemble-offline',
  messages: 'hello',
  stream: false,
  ...over,
});

describe('keys as data (two replicas on one database)', () => {
  const raw: string[] = [];
  let db: TestDatabase;
  let app: NestExpressApplication;
  let origin: string;
  let replica: TestServer;
  let http: ReturnType<typeof request>;
  let other: ReturnType<typeof request>;
  const created: string[] = [];

  async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string; prefix: string }> {
    const res = await http.post(KEYS).set(AUTH).send(body).expect(201);
    created.push(res.body.data.key);
    return res.body.data;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    // First: a server made with logger: false silences Nest's global logger, which the logging one below sets again.
    replica = await startTestServer({ RATE_LIMIT_PER_MINUTE: '0' }, { db });
    const config = loadConfig({
      API_KEYS: API_KEY,
      DATABASE_URL: db.url,
      LOG_LEVEL: 'debug',
      RATE_LIMIT_PER_MINUTE: '0',
    });
    app = await createServer(
      { ...config, databaseUrl: db.url },
      { logger: false, logDestination: { write: (s: string) => void raw.push(s) } },
    );
    await app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    http = request(origin);
    other = request(replica.origin);
  });
  afterAll(async () => {
    await replica?.close();
    await app?.close();
    await db?.drop();
  });

  it('shows the secret once, with a recognisable prefix, and never again', async () => {
    const res = await http
      .post(KEYS)
      .set(AUTH)
      .send({ name: 'billing', scopes: ['chat'] })
      .expect(201);
    const data = res.body.data;
    created.push(data.key);
    expect(Object.keys(data).sort()).toEqual(
      [
        'app_codes',
        'created_at',
        'expires_at',
        'id',
        'key',
        'last_used_at',
        'max_concurrent_runs',
        'name',
        'prefix',
        'rate_limit_per_minute',
        'revoked',
        'scopes',
      ].sort(),
    );
    expect(data.key).toMatch(/^ens_[A-Za-z0-9_-]{43}$/);
    expect(data).toMatchObject({
      name: 'billing',
      scopes: ['chat'],
      app_codes: null,
      revoked: false,
      expires_at: null,
      rate_limit_per_minute: null,
      max_concurrent_runs: null,
    });
    expect(data.prefix).toBe(data.key.slice(0, 12));

    const list = await http.get(KEYS).set(AUTH).expect(200);
    const listed = list.body.data.items.find((k: { id: string }) => k.id === data.id);
    expect(listed).toBeDefined();
    expect(listed.key).toBeUndefined();
    expect(JSON.stringify(list.body)).not.toContain(data.key);
    expect(list.body.data).toMatchObject({ current_page: 1, total_page: 1 });
  });

  it('refuses bad key requests with 400 naming the field', async () => {
    expectDualError(
      await http
        .post(KEYS)
        .set(AUTH)
        .send({ name: 'x', scopes: ['root'] }),
      400,
      'validation_error',
      'scopes',
    );
    expectDualError(await http.post(KEYS).set(AUTH).send({ name: 'x', scopes: [] }), 400, 'validation_error', 'scopes');
    expectDualError(
      await http
        .post(KEYS)
        .set(AUTH)
        .send({ name: 'x', scopes: ['admin'], app_codes: ['a'] }),
      400,
      'validation_error',
      'app_codes',
    );
    expectDualError(
      await http
        .post(KEYS)
        .set(AUTH)
        .send({ name: 'x', scopes: ['chat'], expires_at: '2001-01-01T00:00:00Z' }),
      400,
      'validation_error',
      'expires_at',
    );
    expectDualError(await http.delete(`${KEYS}/not-a-key`).set(AUTH), 404, 'key_not_found', 'id');
  });

  it('a chat key chats and reads apps, and gets 403 insufficient_scope on admin routes', async () => {
    const { key } = await createKey({ name: 'svc-a', scopes: ['chat'] });
    await http.get(APPS).set(bearer(key)).expect(200);
    await http.post(CHAT).set(bearer(key)).send(chatBody()).expect(200);
    const denied = await http.post(APPS).set(bearer(key)).send({ app_name: 'nope', team_mode: 'single_agent' });
    expectDualError(denied, 403, 'insufficient_scope', null);
    expect(denied.body.err_msg).toBe('This route needs a key with the "admin" scope; this key has: chat.');
    expectDualError(await http.get(KEYS).set(bearer(key)), 403, 'insufficient_scope', null);
    expectDualError(await http.get('/api/v2/serve/audit').set(bearer(key)), 403, 'insufficient_scope', null);
    // Nothing was created by the refused call.
    const apps = await http.get(APPS).set(AUTH).query({ app_name: 'nope' }).expect(200);
    expect(apps.body.data.total_count).toBe(0);
  });

  it('a key limited to some apps runs only those apps', async () => {
    const make = (name: string) =>
      http
        .post(APPS)
        .set(AUTH)
        .send({ app_name: name, team_mode: 'single_agent', details: [{ agent_name: 'Summarizer' }] })
        .expect(201);
    const allowed = (await make('allowed-app')).body.data.app_code;
    const otherApp = (await make('other-app')).body.data.app_code;
    const { key } = await createKey({ name: 'svc-b', scopes: ['chat'], app_codes: [allowed] });
    await http
      .post(CHAT)
      .set(bearer(key))
      .send(chatBody({ chat_mode: 'chat_app', chat_param: allowed }))
      .expect(200);
    const refused = await http
      .post(CHAT)
      .set(bearer(key))
      .send(chatBody({ chat_mode: 'chat_app', chat_param: otherApp }));
    expectDualError(refused, 403, 'insufficient_scope', 'chat_param');
    expect(refused.body.err_msg).toBe(`This key may only run these apps (chat_mode "chat_app"): ${allowed}.`);
    expectDualError(await http.post(CHAT).set(bearer(key)).send(chatBody()), 403, 'insufficient_scope', 'chat_param');
  });

  it('an admin key from the API administers, and its changes are in the audit log', async () => {
    const { id, key } = await createKey({ name: 'ops', scopes: ['admin'] });
    const app = await http
      .post(APPS)
      .set(bearer(key))
      .send({ app_name: 'audited', team_mode: 'single_agent' })
      .expect(201);
    const code = app.body.data.app_code;
    await http.delete(`${APPS}/${code}`).set(bearer(key)).expect(200);
    const audit = await http.get('/api/v2/serve/audit').set(AUTH).query({ key_id: id }).expect(200);
    expect(audit.body.data.items.map((e: Record<string, unknown>) => [e.key_id, e.action, e.target])).toEqual([
      [id, 'DELETE /api/v2/serve/apps/:app_code', `app_code=${code}`],
      [id, 'POST /api/v2/serve/apps', `app_code=${code}`],
    ]);
    const all = await http.get('/api/v2/serve/audit').set(AUTH).expect(200);
    expect(
      all.body.data.items.some(
        (e: Record<string, unknown>) => e.key_id === 'env:1' && e.action === 'POST /api/v2/serve/keys',
      ),
    ).toBe(true);
  });

  it('revocation holds on the other replica within a second', async () => {
    const { id, key } = await createKey({ name: 'to-revoke', scopes: ['chat'] });
    await other.get(APPS).set(bearer(key)).expect(200); // the other replica has it cached now
    const res = await http.delete(`${KEYS}/${id}`).set(AUTH).expect(200);
    expect(res.body.data).toMatchObject({ id, revoked: true });
    const revokedAt = Date.now();
    let status = 200;
    while (status !== 401 && Date.now() - revokedAt < 3000) {
      status = (await other.get(APPS).set(bearer(key))).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(1500);
    expect((await http.get(APPS).set(bearer(key))).status).toBe(401);
  });

  it('an expired key stops working', async () => {
    const { key } = await createKey({
      name: 'short-lived',
      scopes: ['chat'],
      expires_at: new Date(Date.now() + 1500).toISOString(),
    });
    await other.get(APPS).set(bearer(key)).expect(200);
    await new Promise((r) => setTimeout(r, 1600));
    expectDualError(await other.get(APPS).set(bearer(key)), 401, 'invalid_api_key', null);
  });

  it('stores only hashes and records use without a write per request', async () => {
    const { id, key } = await createKey({ name: 'used', scopes: ['chat'] });
    for (let i = 0; i < 5; i++) await http.get(APPS).set(bearer(key)).expect(200);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      let row: { last_used_at: Date | null } | undefined;
      for (let i = 0; i < 80 && !row?.last_used_at; i++) {
        row = (await client.query('SELECT last_used_at FROM api_keys WHERE id = $1', [id])).rows[0];
        if (!row?.last_used_at) await new Promise((r) => setTimeout(r, 100));
      }
      expect(row?.last_used_at).toBeInstanceOf(Date);
      const dump = JSON.stringify((await client.query('SELECT * FROM api_keys')).rows);
      for (const secret of created) expect(dump).not.toContain(secret);
      expect(dump).not.toContain(key);
    } finally {
      await client.end();
    }
  });

  it('a conversation belongs to its key and user: other keys get 404 on every route, admins see all', async () => {
    const a = await createKey({ name: 'owner-a', scopes: ['chat'] });
    const b = await createKey({ name: 'owner-b', scopes: ['chat'] });
    const conv = `own-${Date.now()}`;
    const turn = (key: string, over: Record<string, unknown> = {}) =>
      http
        .post(CHAT)
        .set(bearer(key))
        .send(chatBody({ conv_uid: conv, user_name: 'alice', ...over }));
    await turn(a.key).expect(200);

    // Key B: the conversation does not exist, whatever the route.
    const listB = await http.get('/api/v2/conversations').set(bearer(b.key)).expect(200);
    expect(listB.body.data.conversations.map((c: { conv_uid: string }) => c.conv_uid)).not.toContain(conv);
    expectDualError(
      await http.get(`/api/v2/conversations/${conv}`).set(bearer(b.key)),
      404,
      'conversation_not_found',
      'conv_uid',
    );
    expectDualError(await turn(b.key), 404, 'conversation_not_found', 'conv_uid');
    expectDualError(
      await http.post(`${CHAT}/${conv}/cancel`).set(bearer(b.key)),
      404,
      'conversation_not_found',
      'conv_uid',
    );
    expectDualError(
      await http.delete(`/api/v2/conversations/${conv}`).set(bearer(b.key)),
      404,
      'conversation_not_found',
      'conv_uid',
    );

    // Key A: its own, under the same user only.
    const listA = await http.get('/api/v2/conversations').set(bearer(a.key)).expect(200);
    expect(
      listA.body.data.conversations.map((c: { conv_uid: string; key_id: string }) => [c.conv_uid, c.key_id]),
    ).toEqual([[conv, a.id]]);
    const other = await turn(a.key, { user_name: 'bob' });
    expectDualError(other, 409, 'conversation_conflict', 'user_name');
    await turn(a.key).expect(200);
    const read = await http.get(`/api/v2/conversations/${conv}`).set(bearer(a.key)).expect(200);
    expect(read.body.data.turns).toHaveLength(2);

    // An admin key reads everyone's (and filters by key), but does not continue another key's conversation.
    const all = await http.get('/api/v2/conversations').set(AUTH).query({ key_id: a.id }).expect(200);
    expect(all.body.data.conversations.map((c: { conv_uid: string }) => c.conv_uid)).toEqual([conv]);
    await http.get(`/api/v2/conversations/${conv}`).set(AUTH).expect(200);
    expectDualError(await turn(API_KEY), 409, 'conversation_conflict', 'conv_uid');

    await http.delete(`/api/v2/conversations/${conv}`).set(bearer(a.key)).expect(200);
    expectDualError(
      await http.get(`/api/v2/conversations/${conv}`).set(AUTH),
      404,
      'conversation_not_found',
      'conv_uid',
    );
  });

  it('never writes a secret to the log', () => {
    expect(created.length).toBeGreaterThan(3);
    const log = raw.join('');
    expect(log).toContain('created with scopes');
    for (const secret of created) expect(log).not.toContain(secret);
  });
});
