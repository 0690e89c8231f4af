import Database from 'better-sqlite3';
import {
  ConnectionSpec,
  DatasourceError,
  DbDriver,
  JsonValue,
  messageOf,
  QueryLimits,
  QueryResult,
  samplesFrom,
  SchemaTable,
  scrub,
  toJson,
} from './driver';

/** Rows between two looks at the clock while a statement runs. */
const CLOCK_EVERY = 1024;

/**
 * SQLite files through `better-sqlite3`: opened read-only (`readonly`,
 * `fileMustExist`) with `PRAGMA query_only`; only statements the driver
 * reports as readers run. The driver is synchronous: the time limit is
 * checked as rows are stepped through, so a statement that produces rows is
 * cut at the limit (one that computes a long time before its first row is not).
 */
export class SqliteDriver implements DbDriver {
  readonly type = 'sqlite' as const;
  private db?: Database.Database;

  constructor(private readonly spec: ConnectionSpec) {}

  ping(): Promise<void> {
    try {
      this.handle().prepare('SELECT count(*) FROM sqlite_master').get();
      return Promise.resolve();
    } catch (e) {
      this.db = undefined;
      return Promise.reject(new DatasourceError(scrub(messageOf(e), this.spec), 'unreachable'));
    }
  }

  query(sql: string, limits: QueryLimits): Promise<QueryResult> {
    try {
      return Promise.resolve(this.run(sql, limits));
    } catch (e) {
      return Promise.reject(e instanceof DatasourceError ? e : this.failure(e));
    }
  }

  readSchema(sampleRows: number): Promise<SchemaTable[]> {
    try {
      const db = this.handle();
      const tables = db
        .prepare(
          `SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`,
        )
        .all() as { name: string }[];
      const out: SchemaTable[] = [];
      for (const { name } of tables) {
        const q = `"${name.replace(/"/g, '""')}"`;
        const cols = db.prepare(`PRAGMA table_info(${q})`).all() as {
          name: string;
          type: string;
          notnull: number;
          pk: number;
        }[];
        const fks = db.prepare(`PRAGMA foreign_key_list(${q})`).all() as {
          id: number;
          table: string;
          from: string;
          to: string | null;
        }[];
        const foreignKeys = new Map<number, SchemaTable['foreignKeys'][number]>();
        for (const f of fks) {
          let fk = foreignKeys.get(f.id);
          if (!fk) foreignKeys.set(f.id, (fk = { columns: [], table: f.table, refColumns: [] }));
          fk.columns.push(f.from);
          fk.refColumns.push(f.to ?? '');
        }
        const rows =
          sampleRows > 0
            ? (db.prepare(`SELECT * FROM ${q} LIMIT ${sampleRows}`).safeIntegers(true).all() as Record<
                string,
                unknown
              >[])
            : [];
        out.push({
          name,
          comment: '',
          columns: cols.map((c) => ({
            name: c.name,
            type: c.type || 'ANY',
            nullable: !c.notnull && !c.pk,
            comment: '',
            samples: samplesFrom(rows, c.name),
          })),
          primaryKey: cols
            .filter((c) => c.pk > 0)
            .sort((a, b) => a.pk - b.pk)
            .map((c) => c.name),
          foreignKeys: [...foreignKeys.values()],
        });
      }
      return Promise.resolve(out);
    } catch (e) {
      return Promise.reject(this.failure(e));
    }
  }

  close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
    return Promise.resolve();
  }

  private run(sql: string, limits: QueryLimits): QueryResult {
    const db = this.handle();
    const stmt = db.prepare(sql);
    if (!stmt.reader) throw new DatasourceError('only a statement that returns rows may run', 'refused');
    stmt.safeIntegers(true);
    const columns = stmt.columns().map((c) => c.name);
    const deadline = Date.now() + limits.timeoutMs;
    const rows: Record<string, JsonValue>[] = [];
    let count = 0;
    for (const row of stmt.iterate() as IterableIterator<Record<string, unknown>>) {
      count++;
      if (count <= limits.maxRows) {
        const out: Record<string, JsonValue> = {};
        for (const c of columns) out[c] = toJson(row[c]);
        rows.push(out);
      }
      if (count % CLOCK_EVERY === 0 && Date.now() > deadline) {
        // Leaving the loop resets the statement.
        if (count > limits.maxRows) return { columns, rows, total: null, truncated: true };
        throw new DatasourceError(
          `the query was cancelled: it ran longer than the statement timeout (${limits.timeoutMs} ms)`,
          'timeout',
        );
      }
    }
    return { columns, rows, total: count, truncated: count > limits.maxRows };
  }

  private handle(): Database.Database {
    if (!this.db) {
      const db = new Database(this.spec.path, { readonly: true, fileMustExist: true, timeout: 2000 });
      db.pragma('query_only = ON');
      this.db = db;
    }
    return this.db;
  }

  private failure(e: unknown): DatasourceError {
    if (e instanceof DatasourceError) return e;
    return new DatasourceError(scrub(messageOf(e), this.spec), 'failed');
  }
}
