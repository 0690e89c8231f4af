import type { NestExpressApplication } from '@nestjs/platform-express';
import { AddressInfo } from 'node:net';
import { createServer } from '../../apps/server/src/bootstrap';
import { loadConfig } from '../../apps/server/src/config/config';
import { createTestDatabase, TestDatabase } from './database';

export const API_KEY = 'test-key-0123456789';
export const AUTH = { Authorization: `Bearer ${API_KEY}` };

export interface TestServer {
  app: NestExpressApplication;
  /** e.g. http://127.0.0.1:PORT */
  origin: string;
  db: TestDatabase;
  close(): Promise<void>;
}

/**
 * The whole server on its own fresh database (or, as a second replica, on
 * `shared.db`, which its owner drops), listening on an ephemeral loopback
 * port; `env` adds or overrides configuration variables.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  shared?: { db: TestDatabase },
): Promise<TestServer> {
  const db = shared?.db ?? (await createTestDatabase());
  const config = loadConfig({ API_KEYS: API_KEY, DATABASE_URL: db.url, LOG_LEVEL: 'silent', ...env });
  const app = await createServer({ ...config, databaseUrl: config.databaseUrl! }, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    origin: `http://127.0.0.1:${port}`,
    db,
    async close() {
      await app.close();
      if (!shared) await db.drop();
    },
  };
}

/** Methods listed for a route that answers any method (`router.route(p).all(...)`). */
const ANY_METHOD = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Every route the HTTP server serves, as `METHOD /path` (read from Express's
 * router): Nest's controllers and routes added straight on the adapter (the
 * API docs). Middleware mounted with `app.use` is not a route and not listed.
 */
export function listRoutes(app: NestExpressApplication): { method: string; path: string }[] {
  const express = app.getHttpAdapter().getInstance() as {
    router?: { stack: RouterLayer[] };
    _router?: { stack: RouterLayer[] };
  };
  const stack = (express.router ?? express._router)?.stack ?? [];
  return stack
    .filter((layer) => layer.route)
    .flatMap((layer) =>
      Object.keys(layer.route!.methods)
        .flatMap((m) => (m === '_all' ? ANY_METHOD : [m.toUpperCase()]))
        .map((method) => ({ method, path: layer.route!.path })),
    );
}

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}
