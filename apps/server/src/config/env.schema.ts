import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';

const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return value;
};
const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

/**
 * The environment the server reads, validated once at boot. Each property is
 * the variable's name; the README's configuration table documents them.
 */
export class EnvironmentVariables {
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT?: number;

  @IsOptional() @IsString()
  HOST?: string;

  /** Comma-separated API keys accepted by the guard. */
  @IsOptional() @IsString()
  API_KEYS?: string;

  /** Explicit development flag: allow starting with no API key (every route open). */
  @IsOptional() @Transform(toBool) @IsBoolean()
  ENSEMBLE_INSECURE_NO_AUTH?: boolean;

  @IsOptional() @ValidateIf((o: EnvironmentVariables) => !!o.DATABASE_URL)
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  /** Folder of the embedded database used when DATABASE_URL is unset. */
  @IsOptional() @IsString()
  DATA_DIR?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(200)
  DB_POOL_SIZE?: number;

  @IsOptional() @IsString()
  MODELS_FILE?: string;

  /** Largest accepted request body, e.g. `1mb`, `512kb` or a number of bytes. */
  @IsOptional() @Matches(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, { message: 'BODY_LIMIT must look like 1mb, 512kb or a number of bytes' })
  BODY_LIMIT?: string;

  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  /** Log prompt and completion text (off by default). */
  @IsOptional() @Transform(toBool) @IsBoolean()
  LOG_PROMPTS?: boolean;

  /** Interval of `: ping` keep-alive comments on silent SSE streams. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600000)
  SSE_PING_INTERVAL_MS?: number;
}
