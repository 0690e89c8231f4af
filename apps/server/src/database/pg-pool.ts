import { Pool, type PoolConfig } from 'pg';
import { DatabaseUnavailableError } from './db-errors';

/** The part of the `pg` module TypeORM's Postgres driver uses: the `Pool` it constructs. */
export interface PgDriver {
  Pool: new (config: PoolConfig) => Pool;
}

/**
 * The server's one pg pool, shared by TypeORM (migrations, health) and
 * `Sql` (every repository). TypeORM builds its pool with
 * `new driver.Pool(config)` from the `driver` option of its data source
 * (default: the `pg` module); `driver` here is that module's `Pool` with the
 * instance kept, so the pool has exactly the settings, error handler and
 * lifetime TypeORM gives it (it ends it on `destroy`, and makes a new one
 * when it retries its connection at boot) and `pool` is always the current
 * one.
 */
export class PgPool {
  private current?: Pool;
  readonly driver: PgDriver;

  /** `pool`: one made elsewhere (a test); otherwise the one TypeORM makes through `driver`. */
  constructor(pool?: Pool) {
    this.current = pool;
    const keep = (made: Pool) => {
      this.current = made;
    };
    this.driver = {
      Pool: class extends Pool {
        constructor(config: PoolConfig) {
          super(config);
          keep(this);
        }
      },
    };
  }

  /** The pool; `DatabaseUnavailableError` before the data source has made one. */
  get pool(): Pool {
    if (!this.current) throw new DatabaseUnavailableError('the database pool');
    return this.current;
  }
}
