import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../../apps/server/src/database/data-source';
import { ADMIN_URL, databaseUrl, withAdmin } from './pg';

/**
 * Creates one migrated template database per test run; each spec file then
 * clones it (CREATE DATABASE … TEMPLATE), so specs are isolated and fast.
 */
export default async function globalSetup(): Promise<void> {
  const name = `ensemble_tpl_${process.pid}_${Date.now().toString(36)}`;
  try {
    await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  } catch (e) {
    throw new Error(
      `The e2e tests need a Postgres server that accepts ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} ` +
        `(set TEST_DATABASE_URL to another admin URL): ${(e as Error).message}`,
    );
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
