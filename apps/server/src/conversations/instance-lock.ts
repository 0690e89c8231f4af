import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, type ResolvedConfig } from '../config/config';
import { PersistentSession } from '../database/persistent-session';

/** Namespace of the instance locks (first key of the two-key advisory lock). */
const LOCK_SPACE = 0x656e74;

/**
 * How long a free lock must stay free before its owner counts as gone: a
 * live replica whose session died with the database takes its lock again
 * within `PersistentSession.maxRetryDelayMs` of the database answering, so
 * a replica judging right after an outage does not mistake it for dead.
 */
export const LOCK_GRACE_MS = 3 * PersistentSession.maxRetryDelayMs;

/**
 * Each server process has an id and holds a session advisory lock on it for
 * its whole life, on a session of its own that is re-opened (and the lock
 * re-taken) after the database restarts. A run whose instance's lock can be
 * taken, and still can after `LOCK_GRACE_MS`, belongs to a process that is
 * gone: its rows are stale.
 */
@Injectable()
export class InstanceLock implements OnModuleInit, OnApplicationShutdown {
  readonly instanceId = randomUUID();
  private readonly session: PersistentSession;

  constructor(@Inject(APP_CONFIG) config: ResolvedConfig) {
    this.session = new PersistentSession({
      url: config.databaseUrl,
      name: 'ensemble-instance-lock',
      timeouts: { connectTimeoutMs: config.dbConnectTimeoutMs, statementTimeoutMs: config.dbStatementTimeoutMs },
      // Not pg_advisory_lock: after a cut connection the old session may hold it a moment longer; try again then.
      setup: async (client) => {
        const { rows } = await client.query<{ held: boolean }>(
          'SELECT pg_try_advisory_lock($1, hashtext($2)) AS held',
          [LOCK_SPACE, this.instanceId],
        );
        if (!rows[0]?.held) throw new Error('the instance lock is still held by the previous session');
      },
    });
  }

  async onModuleInit(): Promise<void> {
    await this.session.open();
  }

  /** True when `instanceId`'s process is gone (its lock is free, and stays free for `LOCK_GRACE_MS`). */
  async isDead(instanceId: string, graceMs = LOCK_GRACE_MS): Promise<boolean> {
    if (instanceId === this.instanceId) return false;
    if (!(await this.isFree(instanceId))) return false;
    await new Promise((r) => setTimeout(r, graceMs));
    return this.isFree(instanceId);
  }

  private async isFree(instanceId: string): Promise<boolean> {
    const rows = await this.session.query<{ free: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS free', [
      LOCK_SPACE,
      instanceId,
    ]);
    if (rows[0]?.free)
      await this.session.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_SPACE, instanceId]);
    return rows[0]?.free === true;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.session.close();
  }
}
