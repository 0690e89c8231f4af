import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { clientTimeouts, DbTimeouts } from './data-source';
import { DatabaseUnavailableError } from './db-errors';

export interface PersistentSessionOptions {
  url: string;
  /** `application_name` of the session, and its name in the log. */
  name: string;
  timeouts: DbTimeouts;
  /**
   * Makes a new connection what the session stands for (take a lock,
   * LISTEN); it only counts as up once this resolves. Throwing closes the
   * connection and tries again later.
   */
  setup(client: Client): Promise<void>;
  /** A liveness query this often (a connection can die without a word, e.g. behind a proxy). Default 5 s. */
  heartbeatMs?: number;
}

/** Delays between reconnection attempts: quick at first, then at most this. */
const MAX_RETRY_DELAY_MS = 1000;

/**
 * One long-lived Postgres session (not from the pool) that comes back by
 * itself: when the connection fails, ends, or stops answering the heartbeat,
 * it is dropped and a new one is opened and set up again, with growing
 * delays (100 ms up to `MAX_RETRY_DELAY_MS`) until the database answers.
 * While it is down, `query` rejects with `DatabaseUnavailableError` (a 503).
 */
export class PersistentSession {
  private client?: Client;
  private closed = false;
  private retryTimer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private attempt = 0;
  private readonly logger: Logger;

  constructor(private readonly options: PersistentSessionOptions) {
    this.logger = new Logger(options.name);
  }

  /** Most time between losing the database and noticing it back, once it answers. */
  static readonly maxRetryDelayMs = MAX_RETRY_DELAY_MS;

  /** Opens the first connection; rejects if it cannot (the caller decides whether to go on without). */
  async open(): Promise<void> {
    await this.connect();
    this.startHeartbeat();
  }

  /** Keeps trying in the background until a connection is up (after a first `open` failed). */
  retry(): void {
    this.startHeartbeat();
    this.schedule();
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatMs ?? 5000);
    this.heartbeat.unref();
  }

  async query<R extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    const client = this.client;
    if (!client) throw new DatabaseUnavailableError(this.options.name);
    try {
      return (await client.query<R>(sql, params)).rows;
    } catch (e) {
      // A statement error leaves the session usable; a dead connection is replaced.
      if (!(e as { code?: string }).code) this.lost(client, e);
      throw e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.options.url,
      application_name: this.options.name,
      ...clientTimeouts(this.options.timeouts),
    });
    const onLost = (e?: Error) => this.lost(client, e);
    client.on('error', onLost);
    client.on('end', onLost);
    try {
      await client.connect();
      await this.options.setup(client);
    } catch (e) {
      client.off('end', onLost);
      client.off('error', onLost);
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw e;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private async beat(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      await client.query('SELECT 1');
    } catch (e) {
      this.lost(client, e);
    }
  }

  private lost(client: Client, e?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.closed) return;
    this.logger.warn(`Connection lost (${(e as Error | undefined)?.message ?? 'ended'}); reconnecting`);
    this.attempt = 0;
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.retryTimer) return;
    const delay = Math.min(100 * 2 ** this.attempt, MAX_RETRY_DELAY_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect().then(
        () => {
          if (this.closed) return;
          this.attempt = 0;
          this.logger.log('Connection re-established');
        },
        () => {
          this.attempt++;
          this.schedule();
        },
      );
    }, delay);
    this.retryTimer.unref();
  }
}
