import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
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
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatabaseUnavailableError(`no answer in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.sql.query('SELECT 1'), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** True when every migration of this build has been applied. */
  migrationsApplied(): Promise<boolean> {
    return migrationsApplied(this.dataSource);
  }
}
