import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type ResolvedConfig } from '../config/config';
import { isDatabaseUnavailable } from '../database/db-errors';
import { PersistentSession } from '../database/persistent-session';
import { RunRegistry } from './run-registry';

/** The Postgres channel cancel requests travel on. */
export const CANCEL_CHANNEL = 'ensemble_cancel';

/**
 * Cancels across replicas: a cancel for a run this replica does not serve is
 * published with NOTIFY, and every replica LISTENs on a session of its own
 * (re-opened, and LISTEN repeated, after a database restart) and aborts the
 * run if it is its own. Without the listener (a database that cannot LISTEN)
 * cancels stay local, and a warning says so.
 */
@Injectable()
export class CancelBus implements OnModuleInit, OnApplicationShutdown {
  private readonly session: PersistentSession;
  private listening = false;
  private readonly logger = new Logger('CancelBus');

  constructor(
    @Inject(APP_CONFIG) config: ResolvedConfig,
    private readonly runs: RunRegistry,
  ) {
    this.session = new PersistentSession({
      url: config.databaseUrl,
      name: 'ensemble-cancel-bus',
      timeouts: { connectTimeoutMs: config.dbConnectTimeoutMs, statementTimeoutMs: config.dbStatementTimeoutMs },
      setup: async (client) => {
        client.on('notification', (n) => {
          if (n.channel === CANCEL_CHANNEL && n.payload)
            this.runs.abortLocal(n.payload, 'cancelled by request (another replica)');
        });
        await client.query(`LISTEN ${CANCEL_CHANNEL}`);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    try {
      await this.session.open();
      this.listening = true;
    } catch (e) {
      if (isDatabaseUnavailable(e)) {
        // The database is away at boot: keep trying, cancels stay local until then.
        this.listening = true;
        this.session.retry();
        return;
      }
      this.logger.warn(`Cannot LISTEN for cancels (${(e as Error).message}); cancels reach local runs only`);
    }
  }

  /** Asks every replica to abort the run of `convUid` (this one included, harmlessly). */
  async publish(convUid: string): Promise<void> {
    if (!this.listening) return;
    await this.session.query('SELECT pg_notify($1, $2)', [CANCEL_CHANNEL, convUid]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.session.close();
  }
}
