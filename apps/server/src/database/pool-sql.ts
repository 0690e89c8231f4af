import type { Pool } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/** Runs one SQL statement; rejects with TypeORM's `QueryFailedError` like `DataSource.query`. */
export type SqlRunner = (sql: string, params: unknown[]) => Promise<void>;

/**
 * Runs one SQL query and returns its rows; rejects like `SqlRunner`. With a
 * `name`, the statement is prepared once per connection and reused (for a
 * hot query whose planning costs as much as its execution).
 */
export type RowsQuery = (sql: string, params: unknown[], name?: string) => Promise<Record<string, unknown>[]>;

/**
 * Single queries on the pg pool behind TypeORM, for the hot paths (the
 * writes of every chat run, listing apps): `DataSource.query` builds,
 * connects and releases a QueryRunner per call, which costs about as much
 * CPU as the query itself. Failures look and are logged the same as through
 * TypeORM. Not for work that needs a transaction.
 */
export function poolRows(ds: DataSource): RowsQuery {
  const pool = (ds.driver as PostgresDriver).master as Pool;
  return async (sql, params, name) => {
    try {
      return (await pool.query({ text: sql, values: params, ...(name && { name }) })).rows as Record<string, unknown>[];
    } catch (err) {
      ds.logger.logQueryError(err as Error, sql, params);
      throw new QueryFailedError(sql, params, err as Error);
    }
  };
}

/** `poolRows` for statements whose rows are not needed. */
export function poolSql(ds: DataSource): SqlRunner {
  const rows = poolRows(ds);
  return async (sql, params) => {
    await rows(sql, params);
  };
}
