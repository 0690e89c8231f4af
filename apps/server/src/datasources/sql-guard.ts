import { Parser } from 'node-sql-parser';
import type { DbType } from './drivers/driver';

/**
 * The parser's grammars for each type, tried in order. SQLite's grammar in
 * the parser lacks some read syntax (e.g. `CROSS JOIN`), so a SQLite
 * statement may also be read with the Postgres grammar; SQLite's own checks
 * (a read-only handle, `query_only`, only statements that return rows) stay
 * in force whichever grammar read it.
 */
const GRAMMARS: Record<DbType, string[]> = {
  postgresql: ['postgresql'],
  mysql: ['mariadb'],
  sqlite: ['sqlite', 'postgresql'],
};

/**
 * Functions with side effects or that stall, refused wherever they appear in
 * a statement (names compared lower-case, without schema). The read-only
 * transaction and the statement timeout stay in force for anything missed.
 */
const DENIED_FUNCTIONS = new Set([
  'pg_sleep',
  'pg_sleep_for',
  'pg_sleep_until',
  'sleep',
  'benchmark',
  'nextval',
  'setval',
  'set_config',
  'pg_notify',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_switch_wal',
  'pg_promote',
  'pg_export_snapshot',
  'txid_current',
  'pg_current_xact_id',
  'query_to_xml',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'cursor_to_xml',
  'load_file',
  'get_lock',
  'release_lock',
  'release_all_locks',
  'master_pos_wait',
  'source_pos_wait',
  'load_extension',
  'readfile',
  'writefile',
  'edit',
  'fts3_tokenizer',
]);
const DENIED_PREFIXES = [
  'lo_',
  'dblink',
  'pg_advisory',
  'pg_try_advisory',
  'pg_read_',
  'pg_ls_',
  'pg_stat_file',
  'pg_file_',
  'pg_create_',
  'pg_drop_',
  'pg_replication_',
  'pg_logical_',
  'pg_import_',
];
/** Statement kinds that must not appear anywhere, even nested (a data-modifying CTE, a subquery). */
const WRITE_TYPES = new Set([
  'insert',
  'update',
  'delete',
  'replace',
  'create',
  'drop',
  'alter',
  'truncate',
  'rename',
  'grant',
  'revoke',
  'lock',
  'unlock',
  'set',
  'call',
  'exec',
  'attach',
  'load_data',
  'copy',
]);

export type GuardResult = { ok: true; sql: string } | { ok: false; reason: string };

const parser = new Parser();

/**
 * Whether `sql` is exactly one read statement (`SELECT`, `WITH … SELECT`)
 * for the type's dialect, judged on the parsed statement: no write or DDL
 * anywhere in it, no `INTO`, no denied function. Returns the statement
 * without a trailing semicolon, or the reason it is refused.
 */
export function checkReadOnly(sql: string, type: DbType): GuardResult {
  const text = sql.trim().replace(/;\s*$/, '').trim();
  if (!text) return { ok: false, reason: 'the SQL is empty' };
  let ast: unknown;
  let parseError: string | undefined;
  for (const grammar of GRAMMARS[type]) {
    try {
      ast = parser.astify(text, { database: grammar });
      break;
    } catch (e) {
      parseError ??= (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
    }
  }
  if (ast === undefined) {
    return {
      ok: false,
      reason: `the SQL is not one statement Ensemble can verify as a read (${type} syntax): ${parseError}`,
    };
  }
  const statements = Array.isArray(ast) ? (ast as unknown[]) : [ast];
  if (statements.length !== 1) {
    return { ok: false, reason: `only one statement may run, the SQL has ${statements.length}` };
  }
  const top = statements[0] as { type?: string };
  if (top.type !== 'select') {
    return {
      ok: false,
      reason: `only a read (SELECT or WITH … SELECT) may run, not ${String(top.type).toUpperCase()}`,
    };
  }
  const problem = findProblem(top);
  return problem ? { ok: false, reason: problem } : { ok: true, sql: text };
}

function findProblem(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const p = findProblem(item);
      if (p) return p;
    }
    return undefined;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  const n = node as Record<string, unknown>;
  if (typeof n.type === 'string') {
    if (WRITE_TYPES.has(n.type.toLowerCase())) return `a ${n.type.toUpperCase()} statement may not run`;
    if (n.type === 'into' && (n.expr || n.keyword)) return 'SELECT … INTO may not run (it writes)';
    if (n.type === 'function') {
      const name = functionName(n.name);
      if (name && isDenied(name)) return `the function ${name}() is not allowed (side effects or stalls)`;
    }
  }
  if (n.type === 'select' && isInto(n.into)) return 'SELECT … INTO may not run (it writes)';
  for (const value of Object.values(n)) {
    const p = findProblem(value);
    if (p) return p;
  }
  return undefined;
}

function isInto(into: unknown): boolean {
  if (typeof into !== 'object' || into === null) return false;
  const i = into as Record<string, unknown>;
  return !!(i.expr || i.keyword);
}

/** The last part of a function's (possibly qualified) name, lower-case. */
function functionName(name: unknown): string | undefined {
  if (typeof name === 'string') return name.toLowerCase();
  if (typeof name !== 'object' || name === null) return undefined;
  const parts = (name as { name?: unknown }).name;
  if (Array.isArray(parts) && parts.length) {
    const last = parts[parts.length - 1] as { value?: unknown };
    return typeof last?.value === 'string' ? last.value.toLowerCase() : undefined;
  }
  return undefined;
}

function isDenied(name: string): boolean {
  return DENIED_FUNCTIONS.has(name) || DENIED_PREFIXES.some((p) => name.startsWith(p));
}
