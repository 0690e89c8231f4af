/**
 * What the datasources module needs of a database: a bounded connection
 * test, one read-only query with a timeout and a row cap, and the schema.
 * One implementation per type, each on its well-kept driver (pg, mysql2,
 * better-sqlite3); nothing outside this folder touches a driver.
 */

export const DB_TYPES = ['postgresql', 'mysql', 'sqlite'] as const;
export type DbType = (typeof DB_TYPES)[number];

/** Everything needed to connect; `path` is absolute (sqlite). */
export interface ConnectionSpec {
  type: DbType;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  path: string;
}

export interface QueryLimits {
  timeoutMs: number;
  maxRows: number;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface QueryResult {
  columns: string[];
  /** At most `maxRows` rows, values converted to JSON (dates ISO, exact numbers). */
  rows: Record<string, JsonValue>[];
  /** Rows the query produced; null when counting them beyond the cap ran out of time. */
  total: number | null;
  /** Whether rows beyond the cap were left out. */
  truncated: boolean;
}

export interface SchemaColumn {
  name: string;
  type: string;
  nullable: boolean;
  comment: string;
  /** A few distinct values seen in the first rows, shortened. */
  samples: string[];
}

export interface SchemaForeignKey {
  columns: string[];
  table: string;
  refColumns: string[];
}

export interface SchemaTable {
  /** Qualified when not in the default schema (Postgres: `schema.table`). */
  name: string;
  comment: string;
  columns: SchemaColumn[];
  primaryKey: string[];
  foreignKeys: SchemaForeignKey[];
}

/** A failure to report as a reason (to an admin or to the model), already scrubbed of secrets. */
export class DatasourceError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'refused' | 'failed' | 'timeout',
  ) {
    super(message);
    this.name = 'DatasourceError';
  }
}

export interface DbDriver {
  readonly type: DbType;
  /** Connects and runs a trivial query within `timeoutMs`; rejects with a DatasourceError `unreachable`. */
  ping(timeoutMs: number): Promise<void>;
  /** Runs one already-checked read statement in a read-only transaction. */
  query(sql: string, limits: QueryLimits): Promise<QueryResult>;
  readSchema(sampleRows: number): Promise<SchemaTable[]>;
  close(): Promise<void>;
}

/**
 * The driver's message without the host, user, password, database or path
 * of the connection (and without any address-looking text).
 */
export function scrub(message: string, spec: ConnectionSpec): string {
  let out = message;
  const secrets = [spec.password, spec.host, spec.path, spec.user, spec.database]
    .filter((s) => s && s.length >= 2)
    .sort((a, b) => b.length - a.length);
  for (const s of secrets) out = out.split(s).join('***');
  return out
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '***')
    .replace(/\[[0-9a-f:]+\](:\d+)?/gi, '***')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The message of any thrown value. */
/** The error of a database that did not answer within `ms`. */
export const noAnswer = (ms: number): Error => new Error(`no answer within ${ms} ms`);

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A decimal or big integer as a JSON number when the number prints back to
 * the same value, else as the exact string (no precision is ever lost).
 */
export function exactNumber(text: string): number | string {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  return canonical(String(n)) === canonical(text) ? n : text;
}

function canonical(s: string): string {
  let t = s.trim().replace(/^\+/, '');
  if (/e/i.test(t)) return t.toLowerCase();
  const neg = t.startsWith('-');
  if (neg) t = t.slice(1);
  let [int, frac = ''] = t.split('.');
  int = int.replace(/^0+(?=\d)/, '');
  frac = frac.replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return neg && body !== '0' ? `-${body}` : body;
}

/** A value the drivers did not convert themselves, as JSON. */
export function toJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return exactNumber(value.toString());
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toJson(v)]));
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  return value as string | boolean;
}

/** `2024-01-05 10:00:00` (a timestamp without zone) as ISO 8601 `2024-01-05T10:00:00`. */
export function localTimestamp(text: string): string {
  return text.replace(' ', 'T');
}

/** One sample value as shown in a prompt. */
export function sampleText(value: unknown): string | undefined {
  const json = toJson(value);
  if (json === null) return undefined;
  const text = typeof json === 'string' ? json : JSON.stringify(json);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Distinct sample values per column from some rows. */
export function samplesFrom(rows: Record<string, unknown>[], column: string, max = 3): string[] {
  const out: string[] = [];
  for (const row of rows) {
    const s = sampleText(row[column]);
    if (s !== undefined && !out.includes(s)) out.push(s);
    if (out.length >= max) break;
  }
  return out;
}
