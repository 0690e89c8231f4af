import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Limits that hold across replicas: per-key overrides on the key record
 * (null: the server default; 0: unlimited), each key's request count in its
 * current rate-limit window and the run slots taken by each key's runs in
 * flight. Both tables are UNLOGGED: their writes cost no WAL flush, and
 * what a database crash (not a clean restart) empties them of only resets
 * a window or admits runs over the cap until the runs in flight end.
 */
export class SharedLimits1764680000000 implements MigrationInterface {
  name = 'SharedLimits1764680000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys
        ADD COLUMN rate_limit_per_minute integer,
        ADD COLUMN max_concurrent_runs integer,
        ADD CONSTRAINT api_keys_rate_limit_check CHECK (rate_limit_per_minute >= 0),
        ADD CONSTRAINT api_keys_max_runs_check CHECK (max_concurrent_runs >= 0)`);
    await q.query(`
      CREATE UNLOGGED TABLE rate_limit_windows (
        limit_key   varchar(300) NOT NULL,
        window_end  bigint NOT NULL,
        hits        integer NOT NULL,
        CONSTRAINT rate_limit_windows_pkey PRIMARY KEY (limit_key)
      )`);
    await q.query(`CREATE INDEX rate_limit_windows_end_idx ON rate_limit_windows (window_end)`);
    await q.query(`
      CREATE UNLOGGED TABLE run_slots (
        run_id       uuid NOT NULL,
        limit_key    varchar(300) NOT NULL,
        instance_id  varchar(64) NOT NULL,
        taken_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT run_slots_pkey PRIMARY KEY (run_id)
      )`);
    await q.query(`CREATE INDEX run_slots_key_idx ON run_slots (limit_key)`);
    await q.query(`CREATE INDEX run_slots_instance_idx ON run_slots (instance_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE run_slots`);
    await q.query(`DROP TABLE rate_limit_windows`);
    await q.query(`
      ALTER TABLE api_keys
        DROP CONSTRAINT api_keys_max_runs_check,
        DROP CONSTRAINT api_keys_rate_limit_check,
        DROP COLUMN max_concurrent_runs,
        DROP COLUMN rate_limit_per_minute`);
  }
}
