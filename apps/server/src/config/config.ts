import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { join, resolve } from 'node:path';
import { loadToolsConfig, ToolsConfig, ToolsConfigError } from '../tools/tools-config';
import { DURATION, EnvironmentVariables } from './env.schema';

/** The validated, typed configuration every module reads (token `APP_CONFIG`). */
export interface AppConfig {
  port: number;
  host: string;
  apiKeys: string[];
  insecureNoAuth: boolean;
  /** Unset: the embedded database in `dataDir` is used. */
  databaseUrl?: string;
  dataDir: string;
  dbPoolSize: number;
  /** Connect and statement timeouts of every database connection (pool, instance lock, cancel listener). */
  dbConnectTimeoutMs: number;
  dbStatementTimeoutMs: number;
  modelsFile?: string;
  /** The MCP servers of the tools file (TOOLS_FILE), validated at load. */
  tools: ToolsConfig;
  bodyLimit: string;
  logLevel: string;
  /** Log tool-call argument values (LOG_PROMPTS). */
  logPrompts: boolean;
  ssePingIntervalMs: number;
  /** A second listener serving only `GET /metrics`, without a key; unset: none. */
  metricsPort?: number;
  /** Requests per minute per API key, per replica; 0 = no limit. */
  rateLimitPerMinute: number;
  /** Concurrent chat runs per API key, per replica; 0 = unlimited. */
  maxConcurrentRunsPerKey: number;
  /** On shutdown: how long open streams may go on before they are cancelled. */
  shutdownGraceMs: number;
  /** A stream whose client has taken no bytes for this long is cancelled. */
  sseStallTimeoutMs: number;
  /** How long a background run's frames are kept after it ended (RUN_RETENTION), in ms. */
  runRetentionMs: number;
  /** How often expired frames are removed and orphaned streams ended. */
  runSweepIntervalMs: number;
  /** Most characters of history sent to the model. */
  historyMaxChars: number;
  /** Largest document (file or TEXT content) a knowledge space accepts, in bytes. */
  knowledgeMaxFileBytes: number;
  /** Host patterns URL documents may be fetched from; empty: URL documents are refused. */
  knowledgeUrlAllowlist: string[];
  /** Longest a URL document's fetch may take. */
  knowledgeUrlTimeoutMs: number;
  /** Key of datasource passwords at rest (32 bytes); unset: passwords cannot be stored. */
  secretsKey?: Buffer;
  /** The only folder `sqlite` datasources may point into. */
  datasourceFilesDir: string;
  datasourceQueryTimeoutMs: number;
  datasourceMaxRows: number;
  /** Tokens of schema text in one prompt at most. */
  datasourceSchemaMaxTokens: number;
}

/** Configuration whose database is known (DATABASE_URL or the embedded one): what the modules receive. */
export type ResolvedConfig = AppConfig & { databaseUrl: string };

export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((msg) =>
      msg.startsWith(e.property) ? `${msg} (got ${JSON.stringify(e.value)})` : `${e.property}: ${msg}`,
    ),
  );
}

/** Reads and validates the environment; throws a ConfigError naming every bad setting. */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): AppConfig {
  // An empty variable counts as unset; unknown variables are ignored (whitelist).
  const raw = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const vars = plainToInstance(EnvironmentVariables, raw);
  const problems = describe(validateSync(vars, { whitelist: true, stopAtFirstError: true }));

  const apiKeys = (vars.API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  const insecureNoAuth = vars.ENSEMBLE_INSECURE_NO_AUTH === true;
  if (apiKeys.length === 0 && !insecureNoAuth) {
    problems.push(
      'API_KEYS is empty: set API_KEYS to a comma-separated list of keys, ' +
        'or set ENSEMBLE_INSECURE_NO_AUTH=true to run without authentication (development only)',
    );
  }
  let tools: ToolsConfig = { servers: [] };
  try {
    tools = loadToolsConfig(vars.TOOLS_FILE ? resolve(vars.TOOLS_FILE) : undefined, env);
  } catch (e) {
    if (!(e instanceof ToolsConfigError)) throw e;
    problems.push(...e.problems.map((p) => `TOOLS_FILE ${e.source}: ${p}`));
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    port: vars.PORT ?? 5670,
    host: vars.HOST ?? '127.0.0.1',
    apiKeys,
    insecureNoAuth: insecureNoAuth && apiKeys.length === 0,
    databaseUrl: vars.DATABASE_URL,
    dataDir: resolve(vars.DATA_DIR ?? '.data'),
    dbPoolSize: vars.DB_POOL_SIZE ?? 10,
    dbConnectTimeoutMs: vars.DB_CONNECT_TIMEOUT_MS ?? 5000,
    dbStatementTimeoutMs: vars.DB_STATEMENT_TIMEOUT_MS ?? 30000,
    modelsFile: vars.MODELS_FILE ? resolve(vars.MODELS_FILE) : undefined,
    tools,
    bodyLimit: vars.BODY_LIMIT ?? '1mb',
    logLevel: vars.LOG_LEVEL ?? 'info',
    logPrompts: vars.LOG_PROMPTS ?? false,
    ssePingIntervalMs: vars.SSE_PING_INTERVAL_MS ?? 15000,
    metricsPort: vars.METRICS_PORT,
    rateLimitPerMinute: vars.RATE_LIMIT_PER_MINUTE ?? 600,
    maxConcurrentRunsPerKey: vars.MAX_CONCURRENT_RUNS_PER_KEY ?? 16,
    shutdownGraceMs: vars.SHUTDOWN_GRACE_MS ?? 10000,
    sseStallTimeoutMs: vars.SSE_STALL_TIMEOUT_MS ?? 60000,
    runRetentionMs: durationMs(vars.RUN_RETENTION ?? '24h'),
    runSweepIntervalMs: vars.RUN_SWEEP_INTERVAL_MS ?? 10000,
    historyMaxChars: vars.HISTORY_MAX_CHARS ?? 200000,
    knowledgeMaxFileBytes: vars.KNOWLEDGE_MAX_FILE_SIZE ?? 10 * 1024 * 1024,
    knowledgeUrlAllowlist: (vars.KNOWLEDGE_URL_ALLOWLIST ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    knowledgeUrlTimeoutMs: vars.KNOWLEDGE_URL_TIMEOUT_MS ?? 15000,
    secretsKey: vars.SECRETS_KEY ? Buffer.from(vars.SECRETS_KEY, 'base64') : undefined,
    datasourceFilesDir: resolve(vars.DATASOURCE_FILES_DIR ?? join(resolve(vars.DATA_DIR ?? '.data'), 'datasources')),
    datasourceQueryTimeoutMs: vars.DATASOURCE_QUERY_TIMEOUT_MS ?? 10000,
    datasourceMaxRows: vars.DATASOURCE_MAX_ROWS ?? 1000,
    datasourceSchemaMaxTokens: vars.DATASOURCE_SCHEMA_MAX_TOKENS ?? 3000,
  };
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `24h`, `30s`, `500ms` in milliseconds (validated against `DURATION` first). */
export function durationMs(value: string): number {
  const [, n, unit] = DURATION.exec(value)!;
  return Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
}
