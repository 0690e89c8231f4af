import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withDeadline } from '../common/deadline';
import { migrationsApplied } from './data-source';
import { DatabaseUnavailableError } from './db-errors';
import { Sql } from './sql';

/** What readiness asks of the database, so that no feature needs the DataSource. */
@Injectable()
export class DatabaseHealth {
  constructor(
    private readonly sql: Sql,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Resolves once the database answers a trivial query within `timeoutMs`;
   * rejects with an error `isDatabaseUnavailable` recognises otherwise
   * (refused, lost, or too slow).
   */
  async ping(timeoutMs: number): Promise<void> {
    await withDeadline(
      this.sql.query('SELECT 1'),
      timeoutMs,
      () => new DatabaseUnavailableError(`no answer in ${timeoutMs} ms`),
    );
  }

  /** True when every migration of this build has been applied. */
  migrationsApplied(): Promise<boolean> {
    return migrationsApplied(this.dataSource);
  }
}
