import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { removeSharedBuild } from './compiled-server';
import { withAdmin } from './pg';

/**
 * Drops the run's template and any spec database left behind by a crashed
 * worker; stops the compiled server's build if it still runs and removes it.
 */
export default async function globalTeardown(): Promise<void> {
  const buildDir = process.env.ENSEMBLE_TEST_BUILD_DIR;
  const buildPid = Number(process.env.ENSEMBLE_TEST_BUILD_PID);
  // No status yet: the build still runs.
  if (buildDir && buildPid && !existsSync(join(buildDir, 'status'))) {
    try {
      process.kill(buildPid, 'SIGTERM');
    } catch {
      // already exited
    }
  }
  if (buildDir) removeSharedBuild(buildDir);
  const template = process.env.ENSEMBLE_TEST_TEMPLATE;
  if (!template) return;
  await withAdmin(async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
      [template, `${template.replace('_tpl_', '_t_')}%`],
    );
    for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  });
}
