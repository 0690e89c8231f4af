import { DataSource, DataSourceOptions, MigrationExecutor } from 'typeorm';
import { TypeOrmLogger } from '../observability/typeorm-logger';
import { CreateApps1764400000000 } from './migrations/1764400000000-CreateApps';
import { CreateConversations1764500000000 } from './migrations/1764500000000-CreateConversations';
import { CreateDatasources1764614000000 } from './migrations/1764614000000-CreateDatasources';
import { CreateKeys1764650000000 } from './migrations/1764650000000-CreateKeys';
import { ConversationOwners1764670000000 } from './migrations/1764670000000-ConversationOwners';
import { CreateKnowledge1764615150000 } from './migrations/1764615150000-CreateKnowledge';
import { SharedLimits1764680000000 } from './migrations/1764680000000-SharedLimits';
import { CreateRunFrames1764690000000 } from './migrations/1764690000000-CreateRunFrames';
import { KnowledgeEmbeddings1764700000000 } from './migrations/1764700000000-KnowledgeEmbeddings';
import { ConversationChatParam1764710000000 } from './migrations/1764710000000-ConversationChatParam';
import { KnowledgePgvector1764720000000 } from './migrations/1764720000000-KnowledgePgvector';
import { TakeRunSlot1764730000000 } from './migrations/1764730000000-TakeRunSlot';
import type { PgDriver } from './pg-pool';

/** Migrations in order. */
export const MIGRATIONS = [
  CreateApps1764400000000,
  CreateConversations1764500000000,
  CreateDatasources1764614000000,
  CreateKnowledge1764615150000,
  CreateKeys1764650000000,
  ConversationOwners1764670000000,
  SharedLimits1764680000000,
  CreateRunFrames1764690000000,
  KnowledgeEmbeddings1764700000000,
  ConversationChatParam1764710000000,
  KnowledgePgvector1764720000000,
  TakeRunSlot1764730000000,
];

/** Connect and statement timeouts of a connection; unset: none (the migration CLI, tests' setup). */
export interface DbTimeouts {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

/**
 * pg client settings for `timeouts`: the connect timeout, Postgres's own
 * `statement_timeout`, and a client-side wait a little longer than it for
 * a database that does not answer at all (frozen, or a network that drops
 * packets), plus TCP keepalive so a dead peer is noticed.
 */
export function clientTimeouts(timeouts: DbTimeouts) {
  return {
    connectionTimeoutMillis: timeouts.connectTimeoutMs,
    statement_timeout: timeouts.statementTimeoutMs,
    query_timeout: timeouts.statementTimeoutMs + 1000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/**
 * Options of the one DataSource (the server and `database/cli.ts` use the
 * same). No entities: the migrations define the tables, and each module's
 * repository reads and writes them in SQL (`Sql`). `driver`: the `pg`
 * module TypeORM makes its pool with (`PgPool.driver`, so `Sql` shares it).
 */
export function dataSourceOptions(
  url: string,
  poolSize = 10,
  timeouts?: DbTimeouts,
  driver?: PgDriver,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    ...(driver && { driver }),
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['error'],
    logger: new TypeOrmLogger(),
    extra: { max: poolSize, application_name: 'ensemble', ...(timeouts ? clientTimeouts(timeouts) : {}) },
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
