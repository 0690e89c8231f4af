import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createServer } from './bootstrap';
import { ConfigError, loadConfig } from './config/config';
import { startEmbeddedDatabase } from './database/embedded';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const embedded = config.databaseUrl ? undefined : await startEmbeddedDatabase(config.dataDir);
  const app = await createServer({ ...config, databaseUrl: config.databaseUrl ?? embedded!.url });
  if (embedded) {
    // Closed after Nest's own shutdown hooks (the pool) have run.
    const stop = embedded.stop.bind(embedded);
    process.once('exit', () => void stop());
  }
  await app.listen(config.port, config.host);
  new Logger('Ensemble').log(`Listening on http://${config.host}:${config.port}/api (docs at /api/docs)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
