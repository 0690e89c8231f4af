import { DataSource, QueryFailedError } from 'typeorm';
import { poolRows } from './pool-sql';

/** Runs one statement and returns its rows, typed by the caller. */
export type Query = <T extends object>(sql: string, params?: readonly unknown[]) => Promise<T[]>;

/**
 * Plain SQL for a repository: `query` runs single statements on the pool;
 * `transaction` runs its work with a `Query` bound to one connection inside
 * BEGIN … COMMIT (ROLLBACK when the work throws). Both reject with TypeORM's
 * `QueryFailedError`, whose `pgError` below gives the Postgres code.
 */
export class Sql {
  readonly query: Query;
  /**
   * `query` for a hot statement whose planning costs as much as its
   * execution: prepared once per pool connection under `name`, then reused.
   */
  readonly prepared: <T extends object>(name: string, sql: string, params?: readonly unknown[]) => Promise<T[]>;

  constructor(private readonly ds: DataSource) {
    const rows = poolRows(ds);
    this.query = async <T extends object>(sql: string, params: readonly unknown[] = []) =>
      (await rows(sql, [...params])) as T[];
    this.prepared = async <T extends object>(name: string, sql: string, params: readonly unknown[] = []) =>
      (await rows(sql, [...params], name)) as T[];
  }

  transaction<R>(work: (query: Query) => Promise<R>): Promise<R> {
    return this.ds.transaction((em) => {
      const runner = em.queryRunner!;
      const query: Query = async <T extends object>(sql: string, params: readonly unknown[] = []) =>
        (await runner.query(sql, [...params], true)).records as T[];
      return work(query);
    });
  }
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
} as const;
