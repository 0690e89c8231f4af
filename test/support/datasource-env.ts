import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from '../../apps/server/src/bootstrap';
import { loadConfig } from '../../apps/server/src/config/config';
import { FAKE_KEY, FAKE_KEY_ENV } from './chat-env';
import { createTestDatabase, TestDatabase } from './database';
import { FakeOpenAI, startFakeOpenAI } from './fake-openai';
import { API_KEY } from './server';

/** 32 bytes, base64: the key datasource passwords are sealed with in these tests. */
export const TEST_SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');

export interface DatasourceEnv {
  origin: string;
  app: NestExpressApplication;
  db: TestDatabase;
  fake: FakeOpenAI;
  /** The folder sqlite datasources may point into. */
  filesDir: string;
  /** Every log line the server wrote (debug level). */
  logs: string[];
  close(): Promise<void>;
}

/**
 * The server with the fake upstream as model `fake-gpt`, a sqlite files
 * folder, a secrets key, short query limits, and its log lines captured.
 */
export async function startDatasourceEnv(env: Record<string, string> = {}): Promise<DatasourceEnv> {
  process.env[FAKE_KEY_ENV] = FAKE_KEY;
  const fake = await startFakeOpenAI({ apiKey: FAKE_KEY });
  const dir = mkdtempSync(join(tmpdir(), 'ensemble-ds-'));
  const filesDir = join(dir, 'files');
  mkdirSync(filesDir);
  const modelsFile = join(dir, 'models.json');
  writeFileSync(
    modelsFile,
    JSON.stringify({
      default: 'fake-gpt',
      models: [
        { name: 'fake-gpt', provider: 'openai', model: 'gpt-4o-mini', base_url: fake.url, api_key_env: FAKE_KEY_ENV },
      ],
    }),
  );
  const db = await createTestDatabase();
  const config = loadConfig({
    API_KEYS: API_KEY,
    DATABASE_URL: db.url,
    LOG_LEVEL: 'debug',
    MODELS_FILE: modelsFile,
    SECRETS_KEY: TEST_SECRETS_KEY,
    DATASOURCE_FILES_DIR: filesDir,
    DATASOURCE_QUERY_TIMEOUT_MS: '1500',
    DATASOURCE_MAX_ROWS: '50',
    ...env,
  });
  const logs: string[] = [];
  const app = await createServer(
    { ...config, databaseUrl: db.url },
    { logger: false, logDestination: { write: (s: string) => void logs.push(s) } },
  );
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    app,
    db,
    fake,
    filesDir,
    logs,
    async close() {
      await app.close();
      await db.drop();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
