/**
 * DB-GPT's datasource routes against real databases (Postgres, MariaDB, a
 * SQLite file): the calls `dbgpt_client.datasource` makes, sealed passwords
 * that never come back nor reach a log line, the mask round trip, connection
 * failures as 400 with a scrubbed reason, sqlite files confined to their
 * folder, and `database` resources checked when an app is saved.
 */
import request from 'supertest';
import { Client } from 'pg';
import { expectDualError } from './support/expect-error';
import {
  createMariaTarget,
  createPgTarget,
  createSqliteTarget,
  MariaTarget,
  PgTarget,
} from './support/target-databases';
import { DatasourceEnv, startDatasourceEnv } from './support/datasource-env';
import { AUTH, startTestServer } from './support/server';

const DS = '/api/v2/serve/datasources';
const PASSWORD = 'pg-Secret-Pass-42';

describe('datasources admin API', () => {
  let env: DatasourceEnv;
  let pg: PgTarget;
  let maria: MariaTarget;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    [env, pg, maria] = await Promise.all([startDatasourceEnv(), createPgTarget(), createMariaTarget()]);
    http = request(env.origin);
  }, 30000);
  afterAll(async () => {
    await env?.close();
    await pg?.drop();
    await maria?.drop();
  }, 30000);

  const pgBody = () => ({
    db_type: 'postgresql',
    db_name: pg.name,
    db_host: '127.0.0.1',
    db_port: 5432,
    db_user: 'postgres',
    db_pwd: PASSWORD,
    comment: 'sales in Postgres',
  });

  /** The sealed password column as stored. */
  async function storedSecret(id: number): Promise<string | null> {
    const client = new Client({ connectionString: env.db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ s: string | null }>(
        'SELECT db_pwd_enc AS s FROM datasources WHERE id = $1',
        [id],
      );
      return rows[0].s;
    } finally {
      await client.end();
    }
  }

  it('creates, reads, lists, updates (mask round trip) and deletes as DB-GPT’s client calls them', async () => {
    const created = await http.post(DS).set(AUTH).send(pgBody());
    expect(created.status).toBe(200);
    const ds = created.body.data;
    expect(created.body).toMatchObject({ success: true, err_code: null, err_msg: null });
    expect(ds).toEqual({
      id: expect.any(Number),
      db_type: 'postgresql',
      db_name: pg.name,
      db_path: '',
      db_host: '127.0.0.1',
      db_port: 5432,
      db_user: 'postgres',
      db_pwd: '******',
      comment: 'sales in Postgres',
      type: 'postgresql',
      description: 'sales in Postgres',
      params: { host: '127.0.0.1', port: 5432, user: 'postgres', password: '******', database: pg.name },
      gmt_created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      gmt_modified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const sealed = await storedSecret(ds.id);
    expect(sealed).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(sealed).not.toContain(PASSWORD);
    expect(Buffer.from(sealed!.split(':')[3], 'base64').toString('latin1')).not.toContain(PASSWORD);

    expect((await http.get(`${DS}/${ds.id}`).set(AUTH)).body.data).toEqual(ds);
    const list = await http.get(DS).set(AUTH);
    expect(list.body.data).toEqual([ds]);
    expect((await http.get(DS).query({ db_type: 'mysql' }).set(AUTH)).body.data).toEqual([]);

    // The mask (as a GET returned it) keeps the password; so does leaving it out.
    const masked = await http
      .put(DS)
      .set(AUTH)
      .send({ ...ds, comment: 'renamed' });
    expect(masked.status).toBe(200);
    expect(masked.body.data).toMatchObject({ id: ds.id, comment: 'renamed', db_pwd: '******' });
    expect(await storedSecret(ds.id)).toBe(sealed);
    const omitted = await http.put(DS).set(AUTH).send({ id: ds.id, db_name: pg.name, comment: 'again' });
    expect(omitted.status).toBe(200);
    expect(await storedSecret(ds.id)).toBe(sealed);
    // A new password is sealed afresh; an empty one clears it.
    await http.put(DS).set(AUTH).send({ id: ds.id, db_pwd: 'another-Pass-7' }).expect(200);
    expect(await storedSecret(ds.id)).not.toBe(sealed);
    const cleared = await http.put(DS).set(AUTH).send({ id: ds.id, db_pwd: '' });
    expect(cleared.body.data.db_pwd).toBe('');
    expect(await storedSecret(ds.id)).toBeNull();

    expectDualError(await http.post(DS).set(AUTH).send(pgBody()), 409, 'datasource_name_conflict', 'db_name');

    const deleted = await http.delete(`${DS}/${ds.id}`).set(AUTH);
    expect(deleted.status).toBe(200);
    expect(deleted.body.data).toMatchObject({ id: ds.id, db_name: pg.name });
    expectDualError(await http.get(`${DS}/${ds.id}`).set(AUTH), 404, 'datasource_not_found', 'id');
    expectDualError(await http.delete(`${DS}/${ds.id}`).set(AUTH), 404, 'datasource_not_found', 'id');
    expectDualError(await http.get(`${DS}/abc`).set(AUTH), 400, 'validation_error', 'id');
  });

  it('takes DB-GPT’s newer {type, params, description} form, for MariaDB too', async () => {
    const res = await http
      .post(DS)
      .set(AUTH)
      .send({
        type: 'mysql',
        params: { host: '127.0.0.1', port: 3306, user: 'root', database: maria.name },
        description: 'sales in MariaDB',
      });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      db_type: 'mysql',
      db_name: maria.name,
      db_host: '127.0.0.1',
      db_port: 3306,
      db_user: 'root',
      db_pwd: '',
      comment: 'sales in MariaDB',
    });
    expect((await http.post(`${DS}/${res.body.data.id}/refresh`).set(AUTH)).body).toEqual({
      success: true,
      err_code: null,
      err_msg: null,
      data: true,
    });
    await http.delete(`${DS}/${res.body.data.id}`).set(AUTH).expect(200);
  });

  it('answers an unreachable database with 400 and the reason, without host or password', async () => {
    const body = { ...pgBody(), db_name: 'nowhere', db_port: 1 };
    for (const path of [DS, `${DS}/test-connection`]) {
      const res = await http.post(path).set(AUTH).send(body);
      expectDualError(res, 400, 'datasource_unreachable', null);
      expect(res.body.err_msg).toMatch(/^The datasource could not be reached: .*ECONNREFUSED/);
      expect(res.body.err_msg).not.toContain('127.0.0.1');
      expect(res.body.err_msg).not.toContain(PASSWORD);
    }
    const wrongDb = await http
      .post(`${DS}/test-connection`)
      .set(AUTH)
      .send({ ...pgBody(), db_name: 'no_such_database_here' });
    expectDualError(wrongDb, 400, 'datasource_unreachable', null);
    expect(wrongDb.body.err_msg).toBe('The datasource could not be reached: database "***" does not exist');
    const ok = await http.post(`${DS}/test-connection`).set(AUTH).send(pgBody());
    expect(ok.body.data).toBe(true);
    expect((await http.get(DS).set(AUTH)).body.data).toEqual([]);
  });

  it('keeps sqlite files inside the configured folder', async () => {
    const { file } = createSqliteTarget(env.filesDir);
    const ok = await http.post(DS).set(AUTH).send({ db_type: 'sqlite', db_name: 'lite', db_path: file });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ db_type: 'sqlite', db_path: file, params: { path: file } });
    for (const db_path of ['/etc/passwd', '../outside.db', `${env.filesDir}/../x.db`]) {
      const res = await http.post(DS).set(AUTH).send({ db_type: 'sqlite', db_name: 'bad', db_path });
      expectDualError(res, 400, 'validation_error', 'db_path');
    }
    const missing = await http.post(DS).set(AUTH).send({ db_type: 'sqlite', db_name: 'gone', db_path: 'missing.db' });
    expectDualError(missing, 400, 'datasource_unreachable', null);
    await http.delete(`${DS}/${ok.body.data.id}`).set(AUTH).expect(200);
  });

  it('lists the types and refuses bad bodies with 400 naming the field', async () => {
    const types = await http.get('/api/v2/serve/datasource-types').set(AUTH);
    expect(types.body.data.map((t: { name: string }) => t.name)).toEqual(['postgresql', 'mysql', 'sqlite']);
    expectDualError(
      await http.post(DS).set(AUTH).send({ db_type: 'oracle', db_name: 'x' }),
      400,
      'validation_error',
      'db_type',
    );
    expectDualError(await http.post(DS).set(AUTH).send({ db_type: 'postgresql' }), 400, 'validation_error', 'db_name');
    expectDualError(
      await http.post(DS).set(AUTH).send({ db_type: 'postgresql', db_name: 'x', unknown_field: 1 }),
      400,
      'validation_error',
      'unknown_field',
    );
    expectDualError(await http.post(DS).send(pgBody()), 401, 'invalid_api_key', null);
  });

  it('checks database resources when an app is saved', async () => {
    const ds = (await http.post(DS).set(AUTH).send(pgBody())).body.data;
    const app = (resources: unknown[]) => ({
      app_name: `data app ${Math.random()}`,
      team_mode: 'auto_plan',
      details: [{ agent_name: 'Summarizer' }, { agent_name: 'DataScientist', resources }],
    });
    const missing = await http
      .post('/api/v2/serve/apps')
      .set(AUTH)
      .send(
        app([
          { type: 'text', name: 't', value: 'x' },
          { type: 'database', name: 'db', value: '{"db_name": "nope"}' },
        ]),
      );
    expectDualError(missing, 400, 'validation_error', 'details[1].resources[1]');
    expect(missing.body.err_msg).toContain('datasource "nope" does not exist');
    const created = await http
      .post('/api/v2/serve/apps')
      .set(AUTH)
      .send(app([{ type: 'database', name: 'db', value: JSON.stringify({ db_name: pg.name }) }]));
    expect(created.status).toBe(201);
    // The legacy plain-string value names the datasource too.
    const legacy = await http
      .put(`/api/v2/serve/apps/${created.body.data.app_code}`)
      .set(AUTH)
      .send({
        details: [{ agent_name: 'DataScientist', resources: [{ type: 'database', name: 'db', value: 'nope2' }] }],
      });
    expectDualError(legacy, 400, 'validation_error', 'details[0].resources[0]');
    await http.delete(`/api/v2/serve/apps/${created.body.data.app_code}`).set(AUTH).expect(200);
    await http.delete(`${DS}/${ds.id}`).set(AUTH).expect(200);
  });

  it('never writes a password into a log line', () => {
    expect(env.logs.length).toBeGreaterThan(10);
    for (const line of env.logs) {
      expect(line).not.toContain(PASSWORD);
      expect(line).not.toContain('another-Pass-7');
    }
  });
});

describe('datasources without SECRETS_KEY', () => {
  it('refuses to store a password, with a clear 400, and stores datasources without one', async () => {
    const [server, pg] = await Promise.all([startTestServer(), createPgTarget()]);
    try {
      const http = request(server.origin);
      const body = { db_type: 'postgresql', db_name: pg.name, db_host: '127.0.0.1', db_user: 'postgres' };
      const refused = await http
        .post(DS)
        .set(AUTH)
        .send({ ...body, db_pwd: 'x-secret' });
      expectDualError(refused, 400, 'secrets_key_missing', 'db_pwd');
      expect(refused.body.err_msg).toBe(
        'A password cannot be stored: SECRETS_KEY is not configured (32 random bytes, base64).',
      );
      expect(
        (
          await http
            .post(`${DS}/test-connection`)
            .set(AUTH)
            .send({ ...body, db_pwd: 'x-secret' })
        ).body.data,
      ).toBe(true);
      expect((await http.post(DS).set(AUTH).send(body)).body.data.db_pwd).toBe('');
    } finally {
      await server.close();
      await pg.drop();
    }
  }, 30000);
});
