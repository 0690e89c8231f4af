import { DynamicModule, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ResolvedConfig } from '../config/config';
import { dataSourceOptions, runMigrations } from './data-source';

/** The DataSource, migrated before the first request is served. */
@Module({})
export class DatabaseModule {
  static forRoot(config: ResolvedConfig): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () =>
            dataSourceOptions(config.databaseUrl, config.dbPoolSize, {
              connectTimeoutMs: config.dbConnectTimeoutMs,
              statementTimeoutMs: config.dbStatementTimeoutMs,
            }),
          dataSourceFactory: async (options) => {
            const dataSource = await new DataSource(options!).initialize();
            const applied = await runMigrations(dataSource);
            if (applied.length) new Logger('Database').log(`Applied migrations: ${applied.join(', ')}`);
            return dataSource;
          },
        }),
      ],
    };
  }
}
