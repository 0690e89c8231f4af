/**
 * Postgres SQLSTATEs that mean "the database cannot serve now", not "this
 * statement is wrong": the server shutting down or starting up
 * (`pg_terminate_backend`, a restart), too many connections, a statement
 * cut by `statement_timeout`, and every connection exception (class 08).
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '57014', '53300', '53400']);

/** Node socket errors of a connection that could not be opened or was lost. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What the pg driver says when a connection times out, ends, or a query gets no answer in time. */
const DRIVER_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /query read timeout/i,
  /connection timeout/i,
  /client has encountered a connection error/i,
  /cannot use a pool after calling end/i,
  /client was closed and is not queryable/i,
];

/**
 * True when `err` (a driver error, or TypeORM's wrapper of one) says the
 * database is unreachable, restarting or too slow: the request can be
 * retried later (503 `database_unavailable`), it is not a bug.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (typeof e === 'object' && e !== null && !seen.has(e)) {
    seen.add(e);
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_STATES.has(code) || code.startsWith('08') || SOCKET_CODES.has(code)))
      return true;
    if (typeof message === 'string' && DRIVER_MESSAGES.some((m) => m.test(message))) return true;
    const next = e as { driverError?: unknown; cause?: unknown };
    e = next.driverError ?? next.cause;
  }
  return false;
}

/** Seconds a client is told to wait (`Retry-After`) while the database is unavailable. */
export const DATABASE_RETRY_AFTER_S = 5;

/** A call on a database session that is down (being re-established); `isDatabaseUnavailable` says true. */
export class DatabaseUnavailableError extends Error {
  readonly code = '08006';
  constructor(what: string) {
    super(`${what}: the database connection is down and being re-established`);
    this.name = 'DatabaseUnavailableError';
  }
}
