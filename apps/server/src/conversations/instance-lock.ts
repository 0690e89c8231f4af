import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { APP_CONFIG, type ResolvedConfig } from '../config/config';

/** Namespace of the instance locks (first key of the two-key advisory lock). */
const LOCK_SPACE = 0x656e74;

/**
 * Each server process has an id and holds a session advisory lock on it for
 * its whole life, on a connection of its own. A run whose instance's lock
 * can be taken belongs to a process that is gone: its rows are stale.
 */
@Injectable()
export class InstanceLock implements OnModuleInit, OnApplicationShutdown {
  readonly instanceId = randomUUID();
  private client?: Client;
  private readonly logger = new Logger('InstanceLock');

  constructor(@Inject(APP_CONFIG) private readonly config: ResolvedConfig) {}

  async onModuleInit(): Promise<void> {
    this.client = new Client({ connectionString: this.config.databaseUrl, application_name: 'ensemble-instance-lock' });
    this.client.on('error', (e) => this.logger.error(`Instance lock connection lost: ${e.message}`));
    await this.client.connect();
    await this.client.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_SPACE, this.instanceId]);
  }

  /** True when `instanceId`'s process is gone (its lock is free). */
  async isDead(instanceId: string): Promise<boolean> {
    if (instanceId === this.instanceId || !this.client) return false;
    const { rows } = await this.client.query<{ free: boolean }>(
      'SELECT pg_try_advisory_lock($1, hashtext($2)) AS free',
      [LOCK_SPACE, instanceId],
    );
    if (rows[0]?.free) await this.client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_SPACE, instanceId]);
    return rows[0]?.free === true;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.end().catch(() => undefined);
  }
}
