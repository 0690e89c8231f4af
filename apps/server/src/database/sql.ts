import { createHash } from 'node:crypto';
import { type Pool, type PoolClient, Query as PgQuery, type QueryResult } from 'pg';
import { QueryFailedError, type Logger as QueryLogger } from 'typeorm';
import { TypeOrmLogger } from '../observability/typeorm-logger';
import { PgPool } from './pg-pool';

/** Most distinct statement texts `Sql.prepared` names; the rest run unnamed. */
export const MAX_NAMED_STATEMENTS = 100;

/** Runs one statement and returns its rows, typed by the caller. */
export type Query = <T extends object>(sql: string, params?: readonly unknown[]) => Promise<T[]>;

/**
 * Plain SQL for a repository, on the server's pg pool (`PgPool`):
 * `query` runs single statements on the pool (no QueryRunner per call);
 * `transaction` runs its work with a `Query` bound to one connection inside
 * BEGIN … COMMIT (ROLLBACK when the work throws). A failed statement is
 * logged like TypeORM logs one and rejects with TypeORM's `QueryFailedError`
 * (the driver's error inside), whose `pgError` below gives the Postgres code.
 * One instance, provided by `DatabaseModule`.
 */
export class Sql {
  readonly query: Query;

  constructor(
    private readonly pg: PgPool,
    private readonly logger: Pick<QueryLogger, 'logQueryError'> = new TypeOrmLogger(),
  ) {
    this.query = <T extends object>(sql: string, params: readonly unknown[] = []) =>
      this.run<T>(undefined, sql, params);
  }

  /** False once the database has refused a statement name another connection prepared (one shared session). */
  private named = true;
  /**
   * The statement texts `prepared` has named (at most `MAX_NAMED_STATEMENTS`)
   * by length: a text built afresh for each write is found by comparison
   * among the few of its length, not hashed whole on every call as a `Map`
   * key would be.
   */
  private readonly names = new Map<number, { sql: string; name: string }[]>();
  private namedTexts = 0;

  /**
   * `query` as a named prepared statement: parsed and planned once per
   * connection, then only bound and run: the database does not parse and
   * plan it again on the hot path (the run's last write before `[DONE]`).
   * The name comes from the text, so two callers of the same text share it. Only
   * the first `MAX_NAMED_STATEMENTS` texts are named (each costs a plan per
   * connection on the server); later ones run unnamed.
   * The embedded database (PGlite behind its socket server) runs every
   * connection in one session, where a second connection preparing the same
   * name is refused (42P05): from then on statements go unnamed.
   */
  prepared<T extends object>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.run<T>(undefined, sql, params, this.named ? this.nameOf(sql) : undefined);
  }

  private nameOf(sql: string): string | undefined {
    const sameLength = this.names.get(sql.length);
    const known = sameLength?.find((entry) => entry.sql === sql);
    if (known) return known.name;
    if (this.namedTexts >= MAX_NAMED_STATEMENTS) return undefined;
    const name = statementName(sql);
    if (sameLength) sameLength.push({ sql, name });
    else this.names.set(sql.length, [{ sql, name }]);
    this.namedTexts++;
    return name;
  }

  async transaction<R>(work: (query: Query) => Promise<R>): Promise<R> {
    const client = await this.pg.pool.connect();
    const query: Query = <T extends object>(sql: string, params: readonly unknown[] = []) =>
      this.run<T>(client, sql, params);
    let broken: Error | undefined;
    const onError = (e: Error) => {
      broken = e;
    };
    client.on('error', onError);
    try {
      await query('BEGIN');
      const result = await work(query);
      await query('COMMIT');
      return result;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch (rollback) {
        broken ??= rollback as Error;
      }
      throw e;
    } finally {
      client.off('error', onError);
      // A connection that failed is closed, not handed to the next caller.
      client.release(broken);
    }
  }

  /**
   * One statement's rows, on `on` or else the pool; every failure (the pool
   * not there yet included) is a rejection, a failed statement logged and
   * rejected as `QueryFailedError`. Chained rather than `async`: one promise
   * less per statement.
   */
  private run<T>(
    on: Pick<PoolClient, 'query'> | undefined,
    sql: string,
    params: readonly unknown[],
    name?: string,
  ): Promise<T[]> {
    // pg reads the values without changing them.
    const values = params as unknown[];
    let pending: Promise<QueryResult>;
    try {
      pending = on
        ? on.query(sql, values)
        : name
          ? namedQuery(this.pg.pool, sql, values, name)
          : this.pg.pool.query(sql, values);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return pending.then(
      (result) => result.rows as T[],
      (err: unknown) => {
        // A name another connection of the one shared session prepared (see `prepared`): unnamed from now on.
        if (name && (err as { code?: unknown }).code === PgCode.DuplicatePreparedStatement) {
          this.named = false;
          return this.run<T>(on, sql, params);
        }
        this.logger.logQueryError(err as Error, sql, values);
        throw new QueryFailedError(sql, values, err as Error);
      },
    );
  }
}

/** The name `Sql.prepared` gives the statement of a text: the same text has the same name in every process. */
export function statementName(text: string): string {
  return `ens_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
}

/**
 * A named statement on the pool. pg copies a query config object (`{text,
 * values, name}`) property by property on every call, and the only other way
 * to name a statement is a `Query`: one made from the text (which pg does
 * not copy), named, then run by the pool, which answers a promise of its
 * result as for a text.
 */
function namedQuery(pool: Pool, text: string, values: unknown[], name: string): Promise<QueryResult> {
  const query = Object.assign(new PgQuery(text, values), { name });
  return pool.query(query) as unknown as Promise<QueryResult>;
}

/** The SQLSTATE and constraint of a failed statement; undefined for any other error. */
export function pgError(e: unknown): { code?: string; constraint?: string } | undefined {
  return e instanceof QueryFailedError ? (e.driverError as { code?: string; constraint?: string }) : undefined;
}

/** Postgres codes a repository turns into domain errors. */
export const PgCode = {
  UniqueViolation: '23505',
  ForeignKeyViolation: '23503',
  /** NUL in text (`character_not_in_repertoire`). */
  CharacterNotInRepertoire: '22021',
  /** NUL in jsonb (`untranslatable_character`). */
  UntranslatableCharacter: '22P05',
  /** A prepared statement of that name exists in the session. */
  DuplicatePreparedStatement: '42P05',
} as const;
