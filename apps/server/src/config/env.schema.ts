import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';

const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return value;
};

/** A duration as `RUN_RETENTION` takes it: a whole number and a unit. */
export const DURATION = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/;

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

/**
 * The environment the server reads, validated once at boot. Each property is
 * the variable's name; the README's configuration table documents them.
 * class-validator checks a property's decorators bottom-up and `loadConfig`
 * reports only the first failure of each, so the type check goes last
 * (nearest the property): `PORT=abc` says "must be an integer", not "> 65535".
 */
export class EnvironmentVariables {
  @IsOptional()
  @Transform(toInt)
  @Min(0)
  @Max(65535)
  @IsInt()
  PORT?: number;

  @IsOptional()
  @IsString()
  HOST?: string;

  /** Comma-separated API keys accepted by the guard. */
  @IsOptional()
  @IsString()
  API_KEYS?: string;

  /** Explicit development flag: allow starting with no API key (every route open). */
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  ENSEMBLE_INSECURE_NO_AUTH?: boolean;

  @IsOptional()
  @ValidateIf((o: EnvironmentVariables) => !!o.DATABASE_URL)
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  /** Folder of the embedded database used when DATABASE_URL is unset. */
  @IsOptional()
  @IsString()
  DATA_DIR?: string;

  @IsOptional()
  @Transform(toInt)
  @Min(1)
  @Max(200)
  @IsInt()
  DB_POOL_SIZE?: number;

  /** Longest wait for a new database connection before the request answers 503. */
  @IsOptional()
  @Transform(toInt)
  @Min(100)
  @Max(600000)
  @IsInt()
  DB_CONNECT_TIMEOUT_MS?: number;

  /** Longest a database statement may run (server side), or wait for an answer (client side), before 503. */
  @IsOptional()
  @Transform(toInt)
  @Min(100)
  @Max(3600000)
  @IsInt()
  DB_STATEMENT_TIMEOUT_MS?: number;

  @IsOptional()
  @IsString()
  MODELS_FILE?: string;

  /** The tools file: the MCP servers apps may use (unset: no tools). */
  @IsOptional()
  @IsString()
  TOOLS_FILE?: string;

  /** Largest accepted request body, e.g. `1mb`, `512kb` or a number of bytes. */
  @IsOptional()
  @Matches(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, { message: 'BODY_LIMIT must look like 1mb, 512kb or a number of bytes' })
  BODY_LIMIT?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  /** Log the argument values of tool calls (off by default: they may carry user data). */
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  LOG_PROMPTS?: boolean;

  /** Interval of `: ping` keep-alive comments on silent SSE streams. */
  @IsOptional()
  @Transform(toInt)
  @Min(100)
  @Max(600000)
  @IsInt()
  SSE_PING_INTERVAL_MS?: number;

  /** Also serve the metrics without a key on this separate port (for a scraper on a private network). */
  @IsOptional()
  @Transform(toInt)
  @Min(1)
  @Max(65535)
  @IsInt()
  METRICS_PORT?: number;

  /** Requests per minute per API key (per replica); 0 disables rate limiting. */
  @IsOptional()
  @Transform(toInt)
  @Min(0)
  @Max(1000000)
  @IsInt()
  RATE_LIMIT_PER_MINUTE?: number;

  /** Chat runs in flight at once per API key (per replica); 0 means unlimited. */
  @IsOptional()
  @Transform(toInt)
  @Min(0)
  @Max(100000)
  @IsInt()
  MAX_CONCURRENT_RUNS_PER_KEY?: number;

  /** On SIGTERM: how long open streams may go on before they are cancelled. */
  @IsOptional()
  @Transform(toInt)
  @Min(0)
  @Max(3600000)
  @IsInt()
  SHUTDOWN_GRACE_MS?: number;

  /** A chat stream whose client has taken no bytes for this long is cancelled. */
  @IsOptional()
  @Transform(toInt)
  @Min(100)
  @Max(3600000)
  @IsInt()
  SSE_STALL_TIMEOUT_MS?: number;

  /** How long a background run's frames are kept after it ended: a number and a unit (ms, s, m, h, d), e.g. `24h`. */
  @IsOptional()
  @Matches(DURATION, { message: 'RUN_RETENTION must be a number and a unit (ms, s, m, h or d), e.g. 24h' })
  @IsString()
  RUN_RETENTION?: string;

  /** How often expired frames are removed and the streams of runs whose server is gone are ended. */
  @IsOptional()
  @Transform(toInt)
  @Min(100)
  @Max(3600000)
  @IsInt()
  RUN_SWEEP_INTERVAL_MS?: number;

  /** Most characters of earlier turns sent to the model as history (the middle turns go first). */
  @IsOptional()
  @Transform(toInt)
  @Min(1000)
  @Max(100000000)
  @IsInt()
  HISTORY_MAX_CHARS?: number;

  /** Largest document a knowledge space accepts (a file or a TEXT content), in bytes. */
  @IsOptional()
  @Transform(toInt)
  @Min(1)
  @Max(1073741824)
  @IsInt()
  KNOWLEDGE_MAX_FILE_SIZE?: number;

  /**
   * Hosts `URL` documents may be fetched from, comma-separated: `docs.example.com`,
   * `*.example.com` (its subdomains), an IP address; each optionally `:port`. Unset: URL documents are refused.
   */
  @IsOptional()
  @Matches(/^\s*(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?\s*(,\s*(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?\s*)*$/, {
    message:
      'KNOWLEDGE_URL_ALLOWLIST must be a comma-separated list of hosts (example.com, *.example.com, 10.0.0.5:8080)',
  })
  KNOWLEDGE_URL_ALLOWLIST?: string;

  /** Longest a URL document's fetch may take, in milliseconds. */
  @IsOptional()
  @Transform(toInt)
  @Min(100)
  @Max(600000)
  @IsInt()
  KNOWLEDGE_URL_TIMEOUT_MS?: number;

  /** 32 random bytes, base64: encrypts datasource passwords at rest; unset: storing a password is refused. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'SECRETS_KEY must be 32 bytes in base64 (44 characters)' })
  SECRETS_KEY?: string;

  /** The only folder `sqlite` datasources may point into; unset: `<DATA_DIR>/datasources`. */
  @IsOptional()
  @IsString()
  DATASOURCE_FILES_DIR?: string;

  /** Statement timeout of a datasource query (and bound of a connection test). */
  @IsOptional()
  @Transform(toInt)
  @Min(100)
  @Max(600000)
  @IsInt()
  DATASOURCE_QUERY_TIMEOUT_MS?: number;

  /** Rows a datasource query returns at most; the rows beyond are counted, not fetched. */
  @IsOptional()
  @Transform(toInt)
  @Min(1)
  @Max(100000)
  @IsInt()
  DATASOURCE_MAX_ROWS?: number;

  /** Tokens of schema text one prompt carries at most; larger schemas keep the tables that match the question. */
  @IsOptional()
  @Transform(toInt)
  @Min(100)
  @Max(1000000)
  @IsInt()
  DATASOURCE_SCHEMA_MAX_TOKENS?: number;
}
