import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadModelsConfig, ModelRegistry, ModelsConfigError } from '@ensemble/llm';
import { closeServer, createServer } from './bootstrap';
import { ConfigError, loadConfig } from './config/config';
import { startEmbeddedDatabase } from './database/embedded';
import { startupSummary } from './observability/startup';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
    // The models file is part of the configuration: a bad one stops the start here, as a bad setting does.
    loadModelsConfig(config.modelsFile, process.env);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ModelsConfigError) {
      console.error(e.message);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const embedded = config.databaseUrl ? undefined : await startEmbeddedDatabase(config.dataDir);
  const app = await createServer({ ...config, databaseUrl: config.databaseUrl ?? embedded!.url });
  // SIGTERM/SIGINT: stop accepting, drain open runs (SHUTDOWN_GRACE_MS), close the
  // pool, then the embedded database, and exit 0.
  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    new Logger('Ensemble').log(`${signal} received: shutting down`);
    try {
      await closeServer(app);
      await embedded?.stop();
      process.exit(0);
    } catch (e) {
      console.error(e);
      process.exit(1);
    }
  };
  process.once('SIGTERM', (s) => void shutdown(s));
  process.once('SIGINT', (s) => void shutdown(s));
  await app.listen(config.port, config.host);
  const registry = app.get(ModelRegistry);
  const logger = new Logger('Ensemble');
  const summary = startupSummary({
    host: config.host,
    port: config.port,
    databaseUrl: config.databaseUrl,
    embeddedDir: embedded?.dir,
    models: registry.list(),
    offlineOnly: registry.usingOfflineOnly,
    keyCount: config.apiKeys.length,
    insecureNoAuth: config.insecureNoAuth,
  });
  for (const line of summary) logger.log(line);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
