import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Durable runs: a background run's stream, kept so a client can resume it
 * from any replica. `run_streams` holds one row per background run (who
 * writes it, how far it got, whether `[DONE]` is stored); `run_frames` holds
 * its SSE frames, one row per write batch (the frames of one upstream read
 * or tick, `id:` lines included, concatenated), keyed by the first frame's
 * number: cheaper to write than a row per frame (bench/frames-store.js).
 */
export class CreateRunFrames1764690000000 implements MigrationInterface {
  name = 'CreateRunFrames1764690000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE run_streams (
        run_id       uuid NOT NULL,
        conv_uid     varchar(255) NOT NULL,
        instance_id  varchar(64) NOT NULL,
        chunk_id     varchar(255) NOT NULL,
        model        varchar(255) NOT NULL,
        created      bigint NOT NULL,
        incremental  boolean NOT NULL,
        last_seq     integer NOT NULL DEFAULT 0,
        done         boolean NOT NULL DEFAULT false,
        started_at   timestamptz NOT NULL DEFAULT now(),
        ended_at     timestamptz,
        CONSTRAINT run_streams_pkey PRIMARY KEY (run_id),
        CONSTRAINT run_streams_run_fkey FOREIGN KEY (run_id) REFERENCES conversation_runs (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX run_streams_open_idx ON run_streams (instance_id) WHERE NOT done`);
    await q.query(`CREATE INDEX run_streams_ended_idx ON run_streams (ended_at) WHERE done`);
    await q.query(`
      CREATE TABLE run_frames (
        run_id     uuid NOT NULL,
        first_seq  integer NOT NULL,
        last_seq   integer NOT NULL,
        frames     text NOT NULL,
        CONSTRAINT run_frames_pkey PRIMARY KEY (run_id, first_seq),
        CONSTRAINT run_frames_stream_fkey FOREIGN KEY (run_id) REFERENCES run_streams (run_id) ON DELETE CASCADE
      )`);
    // A batch of frames is mostly the same chunk head repeated: lz4 compresses it at half pglz's CPU
    // (bench/frames-store.js). Builds without lz4 (the embedded database) keep the default.
    const lz4 = (await q.query(
      `SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`,
    )) as unknown[];
    if (lz4.length) await q.query(`ALTER TABLE run_frames ALTER COLUMN frames SET COMPRESSION lz4`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE run_frames`);
    await q.query(`DROP TABLE run_streams`);
  }
}
