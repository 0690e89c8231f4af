import { DynamicModule, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ResolvedConfig } from '../config/config';
import { dataSourceOptions, runMigrations } from './data-source';
import { DatabaseHealth } from './database-health';
import { PgPool } from './pg-pool';
import { Sql } from './sql';

/**
 * The DataSource, migrated before the first request is served, and `Sql`
 * (for every repository) on the same pg pool. Global: a repository injects
 * `Sql`, never the DataSource.
 */
@Module({})
export class DatabaseModule {
  static forRoot(config: ResolvedConfig): DynamicModule {
    const pg = new PgPool();
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () =>
            dataSourceOptions(
              config.databaseUrl,
              config.dbPoolSize,
              { connectTimeoutMs: config.dbConnectTimeoutMs, statementTimeoutMs: config.dbStatementTimeoutMs },
              pg.driver,
            ),
          dataSourceFactory: async (options) => {
            const dataSource = await new DataSource(options!).initialize();
            const applied = await runMigrations(dataSource);
            if (applied.length) new Logger('Database').log(`Applied migrations: ${applied.join(', ')}`);
            return dataSource;
          },
        }),
      ],
      providers: [{ provide: PgPool, useValue: pg }, { provide: Sql, useFactory: () => new Sql(pg) }, DatabaseHealth],
      exports: [Sql, DatabaseHealth],
    };
  }
}
