import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG, type ResolvedConfig } from '../config/config';
import { RunRegistry } from './run-registry';

/** The Postgres channel cancel requests travel on. */
export const CANCEL_CHANNEL = 'ensemble_cancel';

/**
 * Cancels across replicas: a cancel for a run this replica does not serve is
 * published with NOTIFY, and every replica LISTENs on its own connection and
 * aborts the run if it is its own. Without the listener (a database that
 * cannot LISTEN) cancels stay local, and a warning says so.
 */
@Injectable()
export class CancelBus implements OnModuleInit, OnApplicationShutdown {
  private client?: Client;
  private readonly logger = new Logger('CancelBus');

  constructor(
    @Inject(APP_CONFIG) private readonly config: ResolvedConfig,
    private readonly runs: RunRegistry,
  ) {}

  async onModuleInit(): Promise<void> {
    const client = new Client({ connectionString: this.config.databaseUrl, application_name: 'ensemble-cancel-bus' });
    client.on('error', (e) =>
      this.logger.error(`Cancel listener connection lost: ${e.message}; cancels now reach local runs only`),
    );
    client.on('notification', (n) => {
      if (n.channel === CANCEL_CHANNEL && n.payload)
        this.runs.abortLocal(n.payload, 'cancelled by request (another replica)');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CANCEL_CHANNEL}`);
      this.client = client;
    } catch (e) {
      this.logger.warn(`Cannot LISTEN for cancels (${(e as Error).message}); cancels reach local runs only`);
      await client.end().catch(() => undefined);
    }
  }

  /** Asks every replica to abort the run of `convUid` (this one included, harmlessly). */
  async publish(convUid: string): Promise<void> {
    if (!this.client) return;
    await this.client.query('SELECT pg_notify($1, $2)', [CANCEL_CHANNEL, convUid]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.end().catch(() => undefined);
  }
}
