import type { Config } from '@jest/types';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../../apps/server/src/database/data-source';
import { REPO_ROOT, startSharedBuild } from './compiled-server';
import { ADMIN_URL, databaseUrl, withAdmin } from './pg';

/** The specs that run the compiled server. */
const COMPILED_SERVER_SPECS = [
  'embedded.e2e-spec.ts',
  'shutdown.e2e-spec.ts',
  'startup.e2e-spec.ts',
  'readme.e2e-spec.ts',
  'models-file.e2e-spec.ts',
  'reliability-chat.e2e-spec.ts',
  'tools-compiled.e2e-spec.ts',
  'durable-compiled.e2e-spec.ts',
  'knowledge-pgvector.e2e-spec.ts',
].map((f) => join(REPO_ROOT, 'test', f));

/**
 * Creates one migrated template database per test run; each spec file then
 * clones it (CREATE DATABASE … TEMPLATE), so specs are isolated and fast.
 * When the run may include a spec of the compiled server, starts its one
 * build in the background meanwhile.
 */
export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  const name = `ensemble_tpl_${process.pid}_${Date.now().toString(36)}`;
  try {
    await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  } catch (e) {
    throw new Error(
      `The e2e tests need a Postgres server that accepts ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} ` +
        `(set TEST_DATABASE_URL to another admin URL): ${(e as Error).message}`,
    );
  }
  const patterns = globalConfig.testPathPatterns.toExecutor({ rootDir: globalConfig.rootDir });
  if (!patterns.isSet() || COMPILED_SERVER_SPECS.some((spec) => patterns.isMatch(spec))) {
    const build = startSharedBuild();
    process.env.ENSEMBLE_TEST_BUILD_PID = String(build.child.pid);
  }
  // Quiet: the template's migrations are not what the tests are about.
  const ds = await new DataSource({
    ...dataSourceOptions(databaseUrl(name), 1),
    logger: undefined,
    logging: false,
  }).initialize();
  try {
    await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
  process.env.ENSEMBLE_TEST_TEMPLATE = name;
}
