/**
 * Two replicas starting together against one fresh database:
 * the advisory lock around migrations lets both come up, each migration
 * applied exactly once.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import request from 'supertest';
import { createServer } from '../apps/server/src/bootstrap';
import { loadConfig } from '../apps/server/src/config/config';
import { MIGRATIONS } from '../apps/server/src/database/data-source';
import { databaseUrl, templateName, withAdmin } from './support/pg';
import { API_KEY, AUTH } from './support/server';

describe('two servers starting together on one fresh database', () => {
  // Named like the run's spec databases, so global teardown drops it if this file crashes.
  const name = `${templateName().replace('_tpl_', '_t_')}_mig_${randomBytes(4).toString('hex')}`;
  const apps: NestExpressApplication[] = [];

  beforeAll(async () => {
    await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });

  it('both become ready and every migration is applied once', async () => {
    const url = databaseUrl(name);
    const config = {
      ...loadConfig({ API_KEYS: API_KEY, DATABASE_URL: url, LOG_LEVEL: 'silent', DB_POOL_SIZE: '2' }),
      databaseUrl: url,
    };
    const started = await Promise.all(
      [0, 1].map(async () => {
        const app = await createServer(config, { logger: false });
        apps.push(app);
        await app.listen(0, '127.0.0.1');
        return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
      }),
    );
    for (const origin of started) {
      const ready = await request(origin).get('/api/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.info).toMatchObject({ database: { status: 'up' }, migrations: { status: 'up' } });
      await request(origin).get('/api/v2/serve/apps').set(AUTH).expect(200);
    }
    const client = new Client({ connectionString: url });
    await client.connect();
    const { rows } = await client
      .query<{ name: string; n: string }>('SELECT name, count(*) AS n FROM migrations GROUP BY name')
      .finally(() => client.end());
    expect(rows.map((r) => r.name).sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    expect(rows.every((r) => r.n === '1')).toBe(true);
  });
});
