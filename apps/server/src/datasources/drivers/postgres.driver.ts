import { Pool, PoolClient, QueryResult as PgResult, types } from 'pg';
import {
  ConnectionSpec,
  DatasourceError,
  DbDriver,
  exactNumber,
  JsonValue,
  localTimestamp,
  messageOf,
  noAnswer,
  QueryLimits,
  QueryResult,
  samplesFrom,
  SchemaTable,
  scrub,
  toJson,
} from './driver';
import { withDeadline } from '../../common/deadline';

const OID = { int8: 20, numeric: 1700, date: 1082, timestamp: 1114, timestamptz: 1184 } as const;

/** Dates, timestamps, big integers and decimals as text; converted exactly in `convert`. */
const RAW_OIDS: ReadonlySet<number> = new Set([OID.int8, OID.numeric, OID.date, OID.timestamp]);
const identity = (v: string) => v;
const rawTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    RAW_OIDS.has(oid)
      ? identity
      : (types.getTypeParser(oid, format) as (v: string) => unknown)) as typeof types.getTypeParser,
};

const CURSOR = 'ensemble_read';
/** Bound of each catalog statement of a schema read. */
const SCHEMA_TIMEOUT_MS = 30000;

/** Postgres through `pg`: one small pool per datasource; every query in `BEGIN READ ONLY` on a cursor. */
export class PostgresDriver implements DbDriver {
  readonly type = 'postgresql' as const;
  private readonly pool: Pool;

  constructor(
    private readonly spec: ConnectionSpec,
    connectTimeoutMs: number,
  ) {
    this.pool = new Pool({
      host: spec.host,
      port: spec.port || 5432,
      user: spec.user || undefined,
      password: spec.password || undefined,
      database: spec.database,
      max: 4,
      idleTimeoutMillis: 30000,
      connectionTimeoutMillis: connectTimeoutMs,
      application_name: 'ensemble-datasource',
      types: rawTypes,
    });
    // An idle client's error (the server went away) must not crash the process.
    this.pool.on('error', () => undefined);
  }

  async ping(timeoutMs: number): Promise<void> {
    let client: PoolClient | undefined;
    const answer = async () => {
      client = await this.pool.connect();
      await client.query('SELECT 1');
    };
    try {
      // One deadline for connecting and answering.
      await withDeadline(answer(), timeoutMs, () => noAnswer(timeoutMs));
    } catch (e) {
      client?.release(true);
      client = undefined;
      throw new DatasourceError(scrub(messageOf(e), this.spec), 'unreachable');
    } finally {
      client?.release();
    }
  }

  async query(sql: string, limits: QueryLimits): Promise<QueryResult> {
    const started = Date.now();
    const client = await this.connect();
    let broken = false;
    try {
      // One round trip: the statements run in order and stop at the first error. The read was parsed as
      // exactly one statement; the newline ends a trailing `--` comment.
      const batch = [
        'BEGIN READ ONLY',
        `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(limits.timeoutMs))}`,
        `DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${sql}\n`,
        `FETCH FORWARD ${limits.maxRows + 1} FROM ${CURSOR}`,
      ].join('; ');
      const results = (await client.query(batch)) as unknown as PgResult<Record<string, unknown>>[];
      const res = results[results.length - 1];
      const columns = res.fields.map((f) => f.name);
      const converters = res.fields.map((f) => converter(f.dataTypeID));
      const truncated = res.rows.length > limits.maxRows;
      const kept = truncated ? res.rows.slice(0, limits.maxRows) : res.rows;
      const rows = kept.map((row) => {
        const out: Record<string, JsonValue> = {};
        for (let i = 0; i < columns.length; i++) out[columns[i]] = converters[i](row[columns[i]]);
        return out;
      });
      let total: number | null = rows.length;
      if (truncated) total = await this.countRest(client, limits, started);
      // Not awaited: the connection runs its statements in order, so its next user queues behind the
      // ROLLBACK; a connection that cannot roll back is broken and leaves the pool on its error.
      client.query('ROLLBACK').catch(() => undefined);
      return { columns, rows, total, truncated };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw this.failure(e, Date.now() - started >= limits.timeoutMs);
    } finally {
      client.release(broken);
    }
  }

  /** Rows beyond the cap, moved over on the server (not sent), in the time left; null when it runs out. */
  private async countRest(client: PoolClient, limits: QueryLimits, started: number): Promise<number | null> {
    const left = limits.timeoutMs - (Date.now() - started);
    if (left < 50) return null;
    try {
      await client.query('SAVEPOINT ensemble_count');
      await client.query(`SET LOCAL statement_timeout = ${Math.floor(left)}`);
      const moved = await client.query(`MOVE FORWARD ALL IN ${CURSOR}`);
      return limits.maxRows + 1 + (moved.rowCount ?? 0);
    } catch {
      await client.query('ROLLBACK TO SAVEPOINT ensemble_count');
      return null;
    }
  }

  async readSchema(sampleRows: number): Promise<SchemaTable[]> {
    const client = await this.connect();
    try {
      await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${SCHEMA_TIMEOUT_MS}`);
      const tables = await client.query<{ oid: number; schema: string; name: string; comment: string | null }>(
        `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, obj_description(c.oid, 'pg_class') AS comment
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg\\_%' AND has_table_privilege(c.oid, 'SELECT')
          ORDER BY n.nspname, c.relname`,
      );
      const columns = await client.query<{
        oid: number;
        name: string;
        type: string;
        notnull: boolean;
        comment: string | null;
      }>(
        `SELECT a.attrelid::int AS oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
                a.attnotnull AS notnull, col_description(a.attrelid, a.attnum) AS comment
           FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
            AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
          ORDER BY a.attrelid, a.attnum`,
      );
      const keys = await client.query<{
        oid: number;
        kind: string;
        cols: string[];
        ref: string | null;
        refcols: string[] | null;
      }>(
        `SELECT k.conrelid::int AS oid, k.contype AS kind,
                ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
                        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i) AS cols,
                CASE WHEN k.contype = 'f' THEN
                  (SELECT CASE WHEN rn.nspname = 'public' THEN rc.relname ELSE rn.nspname || '.' || rc.relname END
                     FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = k.confrelid)
                END AS ref,
                CASE WHEN k.contype = 'f' THEN
                  ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
                          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)
                END AS refcols
           FROM pg_constraint k WHERE k.contype IN ('p', 'f')`,
      );
      const byOid = new Map<number, SchemaTable>();
      const quoted = new Map<number, string>();
      for (const t of tables.rows) {
        const name = t.schema === 'public' ? t.name : `${t.schema}.${t.name}`;
        byOid.set(t.oid, { name, comment: t.comment ?? '', columns: [], primaryKey: [], foreignKeys: [] });
        quoted.set(t.oid, `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
      }
      for (const c of columns.rows) {
        byOid.get(c.oid)?.columns.push({
          name: c.name,
          type: c.type,
          nullable: !c.notnull,
          comment: c.comment ?? '',
          samples: [],
        });
      }
      for (const k of keys.rows) {
        const table = byOid.get(k.oid);
        if (!table) continue;
        if (k.kind === 'p') table.primaryKey = k.cols;
        else table.foreignKeys.push({ columns: k.cols, table: k.ref ?? '', refColumns: k.refcols ?? [] });
      }
      if (sampleRows > 0) {
        await client.query(`SET LOCAL statement_timeout = 2000`);
        for (const [oid, table] of byOid) {
          await client.query('SAVEPOINT ensemble_sample');
          try {
            const res = await client.query<Record<string, unknown>>(
              `SELECT * FROM ${quoted.get(oid)} LIMIT ${sampleRows}`,
            );
            for (const col of table.columns) col.samples = samplesFrom(res.rows, col.name);
          } catch {
            await client.query('ROLLBACK TO SAVEPOINT ensemble_sample');
          }
        }
      }
      await client.query('ROLLBACK');
      return [...byOid.values()];
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw this.failure(e);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async connect(): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (e) {
      throw new DatasourceError(scrub(messageOf(e), this.spec), 'unreachable');
    }
  }

  private failure(e: unknown, timedOut = false): DatasourceError {
    return queryFailure(e, this.spec, timedOut);
  }
}

/** Postgres's own words for a statement cut by `statement_timeout`. */
const STATEMENT_TIMEOUT = 'canceling statement due to statement timeout';

/**
 * A failed read as a `DatasourceError`, its message scrubbed of the
 * connection's secrets. `timedOut`: the read ran as long as its time limit.
 * A parallel query cut by `statement_timeout` may report the cancel of its
 * workers instead ("canceling statement due to user request", the same
 * SQLSTATE 57014): past the limit, it is the timeout, and says so.
 */
export function queryFailure(e: unknown, spec: ConnectionSpec, timedOut: boolean): DatasourceError {
  if (e instanceof DatasourceError) return e;
  const code = (e as { code?: string }).code;
  if (code !== '57014') return new DatasourceError(scrub(messageOf(e), spec), 'failed');
  return new DatasourceError(timedOut ? STATEMENT_TIMEOUT : scrub(messageOf(e), spec), 'timeout');
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function converter(oid: number): (value: unknown) => JsonValue {
  switch (oid) {
    case OID.int8:
    case OID.numeric:
      return (v) => (typeof v === 'string' ? exactNumber(v) : toJson(v));
    case OID.timestamp:
      return (v) => (typeof v === 'string' ? localTimestamp(v) : toJson(v));
    default:
      return toJson;
  }
}
