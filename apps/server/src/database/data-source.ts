import { DataSource, DataSourceOptions, MigrationExecutor } from 'typeorm';
import { AppCollectionEntity } from '../apps/entities/app-collection.entity';
import { AppDetailEntity } from '../apps/entities/app-detail.entity';
import { AppEntity } from '../apps/entities/app.entity';
import { ConversationEntity } from '../conversations/entities/conversation.entity';
import { MessageEntity } from '../conversations/entities/message.entity';
import { PlanStepEntity } from '../conversations/entities/plan-step.entity';
import { RunEntity } from '../conversations/entities/run.entity';
import { TypeOrmLogger } from '../observability/typeorm-logger';
import { CreateApps1764400000000 } from './migrations/1764400000000-CreateApps';
import { CreateConversations1764500000000 } from './migrations/1764500000000-CreateConversations';
import { CreateDatasources1764614000000 } from './migrations/1764614000000-CreateDatasources';

/** Every entity of every module; the one list the app and the migration CLI share. */
export const ENTITIES = [
  AppEntity,
  AppDetailEntity,
  AppCollectionEntity,
  ConversationEntity,
  RunEntity,
  MessageEntity,
  PlanStepEntity,
];

/** Migrations in order. */
export const MIGRATIONS = [CreateApps1764400000000, CreateConversations1764500000000, CreateDatasources1764614000000];

/** Options of the one DataSource (the server and `database/cli.ts` use the same). */
export function dataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['error'],
    logger: new TypeOrmLogger(),
    extra: { max: poolSize, application_name: 'ensemble' },
  };
}

/** Any number, fixed for this project: the key of the advisory lock around migrations. */
const MIGRATION_LOCK_KEY = 0x656e73;

/**
 * Runs pending migrations once, safely when several replicas start together:
 * a session-level advisory lock serialises them, and each replica then finds
 * nothing left to do.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      // On the lock's own connection, so a pool of one cannot deadlock.
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      const done = await executor.executePendingMigrations();
      return done.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

/** True when every known migration has been applied (readiness). */
export async function migrationsApplied(dataSource: DataSource): Promise<boolean> {
  return !(await dataSource.showMigrations());
}
