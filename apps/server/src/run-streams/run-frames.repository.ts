import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql';

/** The Postgres channel that wakes followers of background runs on other replicas (payload: `<instance> <run id>,…`). */
export const FRAMES_CHANNEL = 'ensemble_run_frames';

/** What a background run's frames are built with, kept so another replica can end its stream in the same shape. */
export interface StreamHead {
  runId: string;
  convUid: string;
  instanceId: string;
  /** The chunks' `id`, `model` and `created`. */
  chunkId: string;
  model: string;
  created: number;
  incremental: boolean;
}

/** Stored frames after a position, with where the stream stands (read in one snapshot). */
export interface FramesRead {
  lastSeq: number;
  done: boolean;
  rows: { firstSeq: number; lastSeq: number; frames: string }[];
}

/** Frames `firstSeq..lastSeq` of one run, as stored. */
export interface FramesBatch {
  runId: string;
  firstSeq: number;
  lastSeq: number;
  frames: string;
  done: boolean;
}

export interface OpenStream {
  runId: string;
  instanceId: string;
}

/** A stream to end with the frames `build(lastSeq, head, lastFrames)` gives (called inside the transaction). */
export type EndFrames = (
  nextSeq: number,
  head: StreamHead,
  lastFrames: string | undefined,
) => { frames: string; count: number };

interface HeadRow {
  run_id: string;
  conv_uid: string;
  instance_id: string;
  chunk_id: string;
  model: string;
  created: string;
  incremental: boolean;
  last_seq: number;
  done: boolean;
}

/** Every statement on `run_streams` and `run_frames`. */
@Injectable()
export class RunFramesRepository {
  constructor(private readonly sql: Sql) {}

  /** The stream row of a background run, before its first frame. */
  async open(h: StreamHead): Promise<void> {
    await this.sql.query(
      `INSERT INTO run_streams (run_id, conv_uid, instance_id, chunk_id, model, created, incremental)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [h.runId, h.convUid, h.instanceId, h.chunkId, h.model, h.created, h.incremental],
    );
  }

  /**
   * Appends a batch of frames to each of several streams (their text, `id:`
   * lines included) and moves each stream to the batch's last frame (ending
   * it when `done`), in one statement. A stream takes its batch only when it
   * is still open and at `firstSeq - 1`; returns the run ids that took
   * theirs (the others were ended by another replica meanwhile).
   */
  async append(batches: readonly FramesBatch[]): Promise<Set<string>> {
    // One row of parameters per batch (not arrays: the driver would escape every quote of the frames' JSON).
    const params: unknown[] = [];
    const values = batches.map((b) => {
      const n = params.push(b.runId, b.firstSeq, b.lastSeq, b.frames, b.done);
      return `($${n - 4}::uuid, $${n - 3}::int, $${n - 2}::int, $${n - 1}::text, $${n}::boolean)`;
    });
    const rows = await this.sql.query<{ run_id: string }>(
      `WITH v (run_id, first_seq, last_seq, frames, done) AS (VALUES ${values.join(', ')}),
       s AS (
         UPDATE run_streams r SET last_seq = v.last_seq, done = v.done, ended_at = CASE WHEN v.done THEN now() END
         FROM v WHERE r.run_id = v.run_id AND NOT r.done AND r.last_seq = v.first_seq - 1 RETURNING r.run_id),
       f AS (
         INSERT INTO run_frames (run_id, first_seq, last_seq, frames)
         SELECT v.run_id, v.first_seq, v.last_seq, v.frames FROM v JOIN s ON s.run_id = v.run_id)
       SELECT run_id FROM s`,
      params,
    );
    return new Set(rows.map((r) => r.run_id));
  }

  /**
   * Wakes the followers on other replicas of the runs named in `payload`
   * (`<instance> <run id>,<run id>…`). A notifying commit is serialised
   * with every other one in Postgres, so the caller sends one for many
   * appends, apart from them.
   */
  async notify(payload: string): Promise<void> {
    await this.sql.query('SELECT pg_notify($1, $2)', [FRAMES_CHANNEL, payload]);
  }

  /**
   * Frames after `after` (whole batches: the first may start at or before
   * it), at most `limit` batches; undefined when the stream is not stored
   * (never was, or removed after its retention).
   */
  async framesAfter(runId: string, after: number, limit: number): Promise<FramesRead | undefined> {
    const rows = await this.sql.query<{
      s_last: number;
      done: boolean;
      first_seq: number | null;
      last_seq: number | null;
      frames: string | null;
    }>(
      `SELECT s.last_seq AS s_last, s.done, f.first_seq, f.last_seq, f.frames
       FROM run_streams s
       LEFT JOIN LATERAL (
         SELECT first_seq, last_seq, frames FROM run_frames
         WHERE run_id = s.run_id AND last_seq > $2 ORDER BY first_seq LIMIT $3) f ON true
       WHERE s.run_id = $1
       ORDER BY f.first_seq`,
      [runId, after, limit],
    );
    if (!rows.length) return undefined;
    return {
      lastSeq: rows[0].s_last,
      done: rows[0].done,
      rows: rows
        .filter((r) => r.first_seq !== null)
        .map((r) => ({ firstSeq: r.first_seq!, lastSeq: r.last_seq!, frames: r.frames! })),
    };
  }

  /** Where the stream of a run stands; undefined when it is not stored. */
  async position(runId: string): Promise<{ lastSeq: number; done: boolean } | undefined> {
    const [row] = await this.sql.query<{ last_seq: number; done: boolean }>(
      'SELECT last_seq, done FROM run_streams WHERE run_id = $1',
      [runId],
    );
    return row ? { lastSeq: row.last_seq, done: row.done } : undefined;
  }

  /** Streams not ended yet, with the replica writing them. */
  async openStreams(): Promise<OpenStream[]> {
    const rows = await this.sql.query<{ run_id: string; instance_id: string }>(
      'SELECT run_id, instance_id FROM run_streams WHERE NOT done',
    );
    return rows.map((r) => ({ runId: r.run_id, instanceId: r.instance_id }));
  }

  /**
   * Ends a stream whose writer is gone: under the row's lock, when it is
   * still open, appends the frames `build` makes (numbered from the next
   * one, with the last stored batch to read the view from), marks it done
   * and wakes the followers. False when it had ended already.
   */
  async end(runId: string, build: EndFrames): Promise<boolean> {
    return this.sql.transaction(async (query) => {
      const [row] = await query<HeadRow>(
        `SELECT run_id, conv_uid, instance_id, chunk_id, model, created, incremental, last_seq, done
         FROM run_streams WHERE run_id = $1 FOR UPDATE`,
        [runId],
      );
      if (!row || row.done) return false;
      const [last] = await query<{ frames: string }>(
        'SELECT frames FROM run_frames WHERE run_id = $1 ORDER BY first_seq DESC LIMIT 1',
        [runId],
      );
      const head: StreamHead = {
        runId,
        convUid: row.conv_uid,
        instanceId: row.instance_id,
        chunkId: row.chunk_id,
        model: row.model,
        created: Number(row.created),
        incremental: row.incremental,
      };
      const { frames, count } = build(row.last_seq + 1, head, last?.frames);
      const lastSeq = row.last_seq + count;
      await query('INSERT INTO run_frames (run_id, first_seq, last_seq, frames) VALUES ($1, $2, $3, $4)', [
        runId,
        row.last_seq + 1,
        lastSeq,
        frames,
      ]);
      await query('UPDATE run_streams SET last_seq = $2, done = true, ended_at = now() WHERE run_id = $1', [
        runId,
        lastSeq,
      ]);
      await query('SELECT pg_notify($1, $2)', [FRAMES_CHANNEL, `- ${runId}`]);
      return true;
    });
  }

  /**
   * Removes at most `limit` frame batches of streams that ended more than
   * `retentionMs` ago, then (when none of theirs are left) at most `limit`
   * of those streams. Returns how many rows went.
   */
  async removeExpired(retentionMs: number, limit: number): Promise<{ frames: number; streams: number }> {
    const frames = await this.sql.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM run_frames WHERE (run_id, first_seq) IN (
           SELECT f.run_id, f.first_seq FROM run_streams s JOIN run_frames f ON f.run_id = s.run_id
           WHERE s.done AND s.ended_at < now() - make_interval(secs => $1::float8 / 1000) LIMIT $2)
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [retentionMs, limit],
    );
    const streams = await this.sql.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM run_streams WHERE run_id IN (
           SELECT s.run_id FROM run_streams s
           WHERE s.done AND s.ended_at < now() - make_interval(secs => $1::float8 / 1000)
             AND NOT EXISTS (SELECT 1 FROM run_frames f WHERE f.run_id = s.run_id)
           LIMIT $2)
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [retentionMs, limit],
    );
    return { frames: frames[0]?.n ?? 0, streams: streams[0]?.n ?? 0 };
  }
}
