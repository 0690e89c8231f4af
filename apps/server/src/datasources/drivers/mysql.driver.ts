import { createPool, FieldPacket, Pool, PoolConnection } from 'mysql2';
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

/** mysql2's column type codes this driver converts itself. */
const TYPE = { decimal: 0, newdecimal: 246, longlong: 8, timestamp: 7, datetime: 12 } as const;

type Row = Record<string, unknown>;

/**
 * MySQL and MariaDB through `mysql2`: a small pool per datasource; each query
 * in `START TRANSACTION READ ONLY` with the server's statement time limit
 * (MariaDB `max_statement_time`, MySQL `MAX_EXECUTION_TIME`), streamed so
 * rows beyond the cap are counted and dropped, never held.
 */
export class MysqlDriver implements DbDriver {
  readonly type = 'mysql' as const;
  private readonly pool: Pool;
  private mariadb?: boolean;

  constructor(
    private readonly spec: ConnectionSpec,
    connectTimeoutMs: number,
  ) {
    this.pool = createPool({
      host: spec.host,
      port: spec.port || 3306,
      user: spec.user || undefined,
      password: spec.password || undefined,
      database: spec.database,
      connectionLimit: 4,
      maxIdle: 2,
      idleTimeout: 30000,
      connectTimeout: connectTimeoutMs,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      multipleStatements: false,
    });
    this.pool.on('connection', (conn) => conn.on('error', () => undefined));
  }

  async ping(timeoutMs: number): Promise<void> {
    let conn: PoolConnection | undefined;
    try {
      conn = await withDeadline(this.connect(), timeoutMs, () => noAnswer(timeoutMs));
      await withDeadline(run(conn, 'SELECT 1'), timeoutMs, () => noAnswer(timeoutMs));
      conn.release();
    } catch (e) {
      conn?.destroy();
      throw e instanceof DatasourceError ? e : new DatasourceError(scrub(messageOf(e), this.spec), 'unreachable');
    }
  }

  async query(sql: string, limits: QueryLimits): Promise<QueryResult> {
    const conn = await this.connect();
    let healthy = true;
    try {
      await this.limitTime(conn, limits.timeoutMs);
      await run(conn, 'START TRANSACTION READ ONLY');
      const result = await this.stream(conn, sql, limits).catch((e: unknown) => {
        if (e instanceof TimedOut) healthy = false;
        throw e;
      });
      if (result.total === null) healthy = false;
      else await run(conn, 'ROLLBACK');
      return result;
    } catch (e) {
      if (healthy) await run(conn, 'ROLLBACK').catch(() => (healthy = false));
      throw this.failure(e);
    } finally {
      if (healthy) conn.release();
      else conn.destroy();
    }
  }

  async readSchema(sampleRows: number): Promise<SchemaTable[]> {
    const conn = await this.connect();
    try {
      await this.limitTime(conn, 5000);
      const tables = await run(
        conn,
        `SELECT TABLE_NAME AS name, TABLE_COMMENT AS comment FROM information_schema.TABLES
          WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`,
      );
      const columns = await run(
        conn,
        `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
                COLUMN_KEY AS colkey, COLUMN_COMMENT AS comment
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      );
      const fks = await run(
        conn,
        `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS cname, COLUMN_NAME AS col,
                REFERENCED_TABLE_NAME AS ref, REFERENCED_COLUMN_NAME AS refcol
           FROM information_schema.KEY_COLUMN_USAGE
          WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
          ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
      );
      const byName = new Map<string, SchemaTable>();
      for (const t of tables.rows) {
        const name = String(t.name);
        byName.set(name, { name, comment: text(t.comment), columns: [], primaryKey: [], foreignKeys: [] });
      }
      for (const c of columns.rows) {
        const table = byName.get(String(c.tbl));
        if (!table) continue;
        table.columns.push({
          name: String(c.name),
          type: String(c.type),
          nullable: c.nullable === 'YES',
          comment: text(c.comment),
          samples: [],
        });
        if (c.colkey === 'PRI') table.primaryKey.push(String(c.name));
      }
      const byConstraint = new Map<string, { table: SchemaTable; fk: SchemaTable['foreignKeys'][number] }>();
      for (const f of fks.rows) {
        const table = byName.get(String(f.tbl));
        if (!table) continue;
        const key = `${String(f.tbl)}\u0000${String(f.cname)}`;
        let entry = byConstraint.get(key);
        if (!entry) {
          entry = { table, fk: { columns: [], table: String(f.ref), refColumns: [] } };
          byConstraint.set(key, entry);
          table.foreignKeys.push(entry.fk);
        }
        entry.fk.columns.push(String(f.col));
        entry.fk.refColumns.push(String(f.refcol));
      }
      if (sampleRows > 0) {
        await run(conn, 'START TRANSACTION READ ONLY');
        for (const table of byName.values()) {
          try {
            const res = await run(conn, `SELECT * FROM \`${table.name.replace(/`/g, '``')}\` LIMIT ${sampleRows}`);
            for (const col of table.columns) col.samples = samplesFrom(res.rows, col.name);
          } catch {
            // A table that cannot be read (a broken view) is listed without samples.
          }
        }
        await run(conn, 'ROLLBACK');
      }
      return [...byName.values()];
    } catch (e) {
      throw this.failure(e);
    } finally {
      conn.release();
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.pool.end(() => resolve()));
  }

  /** The server-side statement time limit for this session. */
  private async limitTime(conn: PoolConnection, timeoutMs: number): Promise<void> {
    if (this.mariadb === undefined) {
      const v = await run(conn, 'SELECT VERSION() AS v');
      this.mariadb = /mariadb/i.test(text(v.rows[0]?.v));
    }
    const ms = Math.max(1, Math.floor(timeoutMs));
    if (this.mariadb) await run(conn, `SET SESSION max_statement_time = ${(ms / 1000).toFixed(3)}`);
    else await run(conn, `SET SESSION MAX_EXECUTION_TIME = ${ms}`);
  }

  /** Rows up to the cap, the rest counted while they pass; the client gives up a little after the server would. */
  private stream(conn: PoolConnection, sql: string, limits: QueryLimits): Promise<QueryResult> {
    return new Promise<QueryResult>((resolve, reject) => {
      const rows: Record<string, JsonValue>[] = [];
      let columns: string[] = [];
      let converters: ((v: unknown) => JsonValue)[] = [];
      let count = 0;
      let settled = false;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const timer = setTimeout(() => {
        finish(() => {
          if (count > limits.maxRows) resolve({ columns, rows, total: null, truncated: true });
          else reject(new TimedOut(limits.timeoutMs));
        });
      }, limits.timeoutMs + 250);
      const q = conn.query(sql);
      q.on('fields', (fields: FieldPacket[]) => {
        columns = fields.map((f) => f.name);
        converters = fields.map((f) => converter(f.columnType ?? f.type ?? -1));
      });
      q.on('result', (row: Row) => {
        count++;
        if (count > limits.maxRows) return;
        const out: Record<string, JsonValue> = {};
        for (let i = 0; i < columns.length; i++) out[columns[i]] = converters[i](row[columns[i]]);
        rows.push(out);
      });
      q.on('error', (e: Error) => {
        finish(() => {
          // The server's time limit after the cap was reached: the rows are kept, the total is unknown.
          if (count > limits.maxRows && isTimeLimit(e)) resolve({ columns, rows, total: null, truncated: true });
          else reject(isTimeLimit(e) ? new TimedOut(limits.timeoutMs) : e);
        });
      });
      q.on('end', () => finish(() => resolve({ columns, rows, total: count, truncated: count > limits.maxRows })));
    });
  }

  private connect(): Promise<PoolConnection> {
    return new Promise((resolve, reject) =>
      this.pool.getConnection((err, conn) =>
        err ? reject(new DatasourceError(scrub(messageOf(err), this.spec), 'unreachable')) : resolve(conn),
      ),
    );
  }

  private failure(e: unknown): DatasourceError {
    if (e instanceof DatasourceError) return e;
    if (e instanceof TimedOut) return new DatasourceError(e.message, 'timeout');
    return new DatasourceError(scrub(messageOf(e), this.spec), 'failed');
  }
}

class TimedOut extends Error {
  constructor(ms: number) {
    super(`the query was cancelled: it ran longer than the statement timeout (${ms} ms)`);
  }
}

/** MariaDB 1969 (max_statement_time), MySQL 3024 (MAX_EXECUTION_TIME). */
function isTimeLimit(e: unknown): boolean {
  const errno = (e as { errno?: number }).errno;
  return errno === 1969 || errno === 3024;
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return Buffer.isBuffer(v) ? v.toString('utf8') : '';
}

function run(conn: PoolConnection, sql: string): Promise<{ rows: Row[] }> {
  return new Promise((resolve, reject) =>
    conn.query(sql, (err, rows) => (err ? reject(err) : resolve({ rows: (Array.isArray(rows) ? rows : []) as Row[] }))),
  );
}

function converter(type: number): (value: unknown) => JsonValue {
  switch (type) {
    case TYPE.decimal:
    case TYPE.newdecimal:
    case TYPE.longlong:
      return (v) => (typeof v === 'string' ? exactNumber(v) : toJson(v));
    case TYPE.timestamp:
    case TYPE.datetime:
      return (v) => (typeof v === 'string' ? localTimestamp(v) : toJson(v));
    default:
      return toJson;
  }
}
