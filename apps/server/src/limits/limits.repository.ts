import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql';

/** Namespace of the per-key run-slot locks (first key of the two-key advisory lock). */
const SLOT_LOCK_SPACE = 0x656e72;

/** A request counted in its window: the window's count so far and the milliseconds left in it. */
export interface WindowCount {
  hits: number;
  msLeft: number;
}

/**
 * Every statement on `rate_limit_windows` and `run_slots`: the request
 * counts and run slots every replica shares. Times come from the database's
 * clock, so replicas whose clocks differ still agree on when a window ends.
 */
@Injectable()
export class LimitsRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Counts one request of `key` in its window: a fixed window of `windowMs`
   * that starts with the key's first request after the previous one ended.
   * One upsert; concurrent ones on the same key queue on its row lock, so
   * every request gets its own count.
   */
  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const rows = await this.sql.query<{ hits: number; ms_left: string }>(
      `WITH clock AS (SELECT floor(extract(epoch FROM now()) * 1000)::bigint AS ms)
       INSERT INTO rate_limit_windows AS w (limit_key, window_end, hits)
       SELECT $1, clock.ms + $2::integer, 1 FROM clock
       ON CONFLICT (limit_key) DO UPDATE SET
         hits = CASE WHEN w.window_end <= EXCLUDED.window_end - $2::integer THEN 1 ELSE w.hits + 1 END,
         window_end = CASE WHEN w.window_end <= EXCLUDED.window_end - $2::integer
                      THEN EXCLUDED.window_end ELSE w.window_end END
       RETURNING w.hits, w.window_end - (SELECT ms FROM clock) AS ms_left`,
      [key, windowMs],
    );
    return { hits: rows[0].hits, msLeft: Number(rows[0].ms_left) };
  }

  /** Deletes at most `max` windows that have ended (a key's next request starts a new one); returns how many. */
  async deleteEndedWindows(max: number): Promise<number> {
    const rows = await this.sql.query<{ n: string }>(
      `WITH gone AS (
         DELETE FROM rate_limit_windows WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM rate_limit_windows WHERE window_end <= floor(extract(epoch FROM now()) * 1000) LIMIT $1))
         RETURNING 1)
       SELECT count(*) AS n FROM gone`,
      [max],
    );
    return Number(rows[0].n);
  }

  /** Run slots `key` holds now. */
  async slotsHeld(key: string): Promise<number> {
    const rows = await this.sql.query<{ n: string }>(`SELECT count(*) AS n FROM run_slots WHERE limit_key = $1`, [key]);
    return Number(rows[0].n);
  }

  /**
   * Takes slot `slotId` for `key` when it holds fewer than `max`; false
   * when it holds them all. Under a transaction-level advisory lock per key,
   * so two replicas taking the last slot at once are served one after the
   * other and only one gets it: lock, count, insert, in one round trip
   * through the function `ensemble_take_run_slot` (its body is in the
   * migration TakeRunSlot1764730000000).
   */
  async takeSlot(key: string, slotId: string, instanceId: string, max: number): Promise<boolean> {
    const rows = await this.sql.prepared<{ taken: boolean }>(
      `SELECT ensemble_take_run_slot($1, $2::uuid, $3::varchar, $4::varchar, $5::integer) AS taken`,
      [SLOT_LOCK_SPACE, slotId, key, instanceId, max],
    );
    return rows[0].taken;
  }

  /** Gives slots back (a slot already given back is ignored). */
  async releaseSlots(slotIds: string[]): Promise<void> {
    if (slotIds.length === 0) return;
    await this.sql.query(`DELETE FROM run_slots WHERE run_id = ANY($1::uuid[])`, [slotIds]);
  }

  /** Instances other than `instanceId` that hold slots. */
  async slotHolders(instanceId: string): Promise<string[]> {
    const rows = await this.sql.query<{ instance_id: string }>(
      `SELECT DISTINCT instance_id FROM run_slots WHERE instance_id <> $1`,
      [instanceId],
    );
    return rows.map((r) => r.instance_id);
  }

  /** Frees every slot of a process that is gone; returns how many. */
  async releaseInstanceSlots(instanceId: string): Promise<number> {
    const rows = await this.sql.query<{ run_id: string }>(
      `DELETE FROM run_slots WHERE instance_id = $1 RETURNING run_id`,
      [instanceId],
    );
    return rows.length;
  }
}
