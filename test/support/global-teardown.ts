import { withAdmin } from './pg';

/** Drops the run's template and any spec database left behind by a crashed worker. */
export default async function globalTeardown(): Promise<void> {
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
