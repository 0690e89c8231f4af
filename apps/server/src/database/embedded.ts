import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Extension } from '@electric-sql/pglite';

export interface EmbeddedDatabase {
  url: string;
  /** The folder holding the database files. */
  dir: string;
  /** How long opening (or creating) it took. */
  readyMs: number;
  stop(): Promise<void>;
}

/**
 * The embedded default: PGlite (Postgres compiled to WASM) persisted in
 * `<dataDir>/pglite`, served on a loopback port over the Postgres wire
 * protocol so the ordinary `pg` driver, pool and migrations work unchanged.
 * PGlite runs one session at a time; the socket server queues connections.
 * Meant for a first run and development; production uses DATABASE_URL.
 */
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const dir = join(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  // Trigram similarity for the knowledge spaces' retrieval (the migration creates the extension).
  // (A subpath export, which this project's module resolution does not type: the type is named here.)
  const trgm = '@electric-sql/pglite/contrib/pg_trgm';
  const { pg_trgm } = (await import(trgm)) as { pg_trgm: Extension };
  // pgvector: knowledge vectors in a `vector` column, ranked by cosine distance in SQL (the migration creates it).
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const db = await PGlite.create(dir, { extensions: { pg_trgm, vector } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 100 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  return {
    url,
    dir,
    readyMs: Date.now() - started,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
