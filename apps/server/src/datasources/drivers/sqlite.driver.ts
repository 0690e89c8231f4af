import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
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

/**
 * How long a query process may take to start and prepare its statement
 * before the time limit starts counting (a busy machine starts a process
 * in a few hundred milliseconds, sometimes seconds).
 */
const START_BOUND_MS = 10_000;

/** The driver's entry file, for the query process to load. */
const BETTER_SQLITE3 = require.resolve('better-sqlite3');

interface WorkerMessage {
  /** The statement is prepared and about to run: the time limit counts from here. */
  started?: boolean;
  partial?: { columns: string[]; rows: Record<string, unknown>[] };
  done?: { columns: string[]; rows: Record<string, unknown>[]; count: number };
  refused?: string;
  error?: string;
}

/**
 * One query in a process of its own: a read-only handle with `query_only`,
 * only statements that return rows, rows up to the cap kept (sent as soon as
 * the cap is passed), the rest counted. The server kills the process at the
 * time limit: a statement stuck in SQLite's C code (an endless recursive
 * query) cannot be stopped inside a thread, a process can.
 */
const QUERY_PROCESS = `
process.once('message', (workerData) => {
const parentPort = { postMessage: (m) => process.send(m) };
const Database = require(workerData.module);
try {
  const db = new Database(workerData.path, { readonly: true, fileMustExist: true, timeout: 2000 });
  db.pragma('query_only = ON');
  const stmt = db.prepare(workerData.sql);
  if (!stmt.reader) {
    parentPort.postMessage({ refused: 'only a statement that returns rows may run' });
  } else {
    stmt.safeIntegers(true);
    const columns = stmt.columns().map((c) => c.name);
    parentPort.postMessage({ started: true });
    const rows = [];
    let count = 0;
    for (const row of stmt.iterate()) {
      count++;
      if (count <= workerData.maxRows) rows.push(row);
      else if (count === workerData.maxRows + 1) parentPort.postMessage({ partial: { columns, rows } });
    }
    parentPort.postMessage({ done: { columns, rows, count } });
  }
  db.close();
} catch (e) {
  parentPort.postMessage({ error: String(e && e.message ? e.message : e) });
}
});
`;

function timeoutMessage(ms: number): string {
  return `the query was cancelled: it ran longer than the statement timeout (${ms} ms)`;
}

function converted(r: { columns: string[]; rows: Record<string, unknown>[] }): Pick<QueryResult, 'columns' | 'rows'> {
  return {
    columns: r.columns,
    rows: r.rows.map((row) => {
      const out: Record<string, JsonValue> = {};
      for (const c of r.columns) out[c] = toJson(row[c]);
      return out;
    }),
  };
}

/**
 * SQLite files through `better-sqlite3`: opened read-only (`readonly`,
 * `fileMustExist`) with `PRAGMA query_only`; only statements the driver
 * reports as readers run. The driver is synchronous, so generated queries
 * run in a process of their own that is killed at the time limit (the
 * server's event loop never waits on SQLite); the connection test and the schema
 * read (bounded by LIMIT) run on one cached handle.
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

  /** Runs in a process of its own, killed at the time limit wherever the statement is (a long aggregate too). */
  query(sql: string, limits: QueryLimits): Promise<QueryResult> {
    return new Promise<QueryResult>((resolve, reject) => {
      // `advanced` serialization carries the exact big integers the query reads.
      const worker = spawn(process.execPath, ['-e', QUERY_PROCESS], {
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
        serialization: 'advanced',
      });
      worker.send({ module: BETTER_SQLITE3, path: this.spec.path, sql, maxRows: limits.maxRows });
      let partial: { columns: string[]; rows: Record<string, unknown>[] } | undefined;
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        worker.kill('SIGKILL');
        outcome();
      };
      const expire = () =>
        settle(() => {
          // Past the cap the rows are kept and the total is unknown; before it the statement failed.
          if (partial) resolve({ ...converted(partial), total: null, truncated: true });
          else reject(new DatasourceError(timeoutMessage(limits.timeoutMs), 'timeout'));
        });
      // The statement's own time limit starts once it runs, not while its process starts.
      let timer = setTimeout(expire, START_BOUND_MS + limits.timeoutMs);
      worker.on('message', (m: WorkerMessage) => {
        if (m.started) {
          clearTimeout(timer);
          timer = setTimeout(expire, limits.timeoutMs);
        } else if (m.partial) partial = m.partial;
        else if (m.done) {
          const { count, ...rest } = m.done;
          settle(() => resolve({ ...converted(rest), total: count, truncated: count > limits.maxRows }));
        } else if (m.refused) settle(() => reject(new DatasourceError(m.refused!, 'refused')));
        else if (m.error !== undefined) {
          settle(() => reject(new DatasourceError(scrub(m.error!, this.spec), 'failed')));
        }
      });
      worker.on('error', (e) => settle(() => reject(this.failure(e))));
      worker.on('exit', () => settle(() => reject(new DatasourceError('the query ended without a result', 'failed'))));
    });
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
