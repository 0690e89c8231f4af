import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from './data-source';

/**
 * Migrations outside the server, on the same DataSource options:
 *
 *   DATABASE_URL=postgres://… npm run migration:run     apply pending migrations (advisory lock, as at start)
 *   DATABASE_URL=postgres://… node dist/apps/server/src/database/cli.js show    list them; exit 1 if any is pending
 */
async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'run';
  const url = process.env.DATABASE_URL;
  if (!['run', 'show'].includes(command)) {
    console.error(`Unknown command ${JSON.stringify(command)}: use "run" or "show".`);
    return 64; // EX_USAGE
  }
  if (!url || !/^postgres(ql)?:\/\/\S+$/.test(url)) {
    console.error('DATABASE_URL must be set to a postgres:// or postgresql:// URL.');
    return 78; // EX_CONFIG
  }
  const dataSource = await new DataSource(dataSourceOptions(url, 1)).initialize();
  try {
    if (command === 'run') {
      const applied = await runMigrations(dataSource);
      console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'No pending migrations.');
      return 0;
    }
    const pending = await dataSource.showMigrations();
    console.log(pending ? 'Some migrations are pending.' : 'Every migration is applied.');
    return pending ? 1 : 0;
  } finally {
    await dataSource.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`Migration failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
