import type { Pool } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/** Runs one SQL statement; rejects with TypeORM's `QueryFailedError` like `DataSource.query`. */
export type SqlRunner = (sql: string, params: unknown[]) => Promise<void>;

/**
 * Single statements on the pg pool behind TypeORM, for the writes made on
 * every chat run: `DataSource.query` builds, connects and releases a
 * QueryRunner per call, which costs about as much CPU as the query itself.
 * Failures look and are logged the same as through TypeORM.
 */
export function poolSql(ds: DataSource): SqlRunner {
  const pool = (ds.driver as PostgresDriver).master as Pool;
  return async (sql, params) => {
    try {
      await pool.query(sql, params);
    } catch (err) {
      ds.logger.logQueryError(err as Error, sql, params);
      throw new QueryFailedError(sql, params, err as Error);
    }
  };
}
