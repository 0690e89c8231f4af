import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Taking a run slot in one round trip (`LimitsRepository.takeSlot`): the
 * per-key advisory lock, the count and the insert ran as a transaction of
 * four statements, each its own round trip, on every chat run. As a
 * function they run in the caller's one statement; the function is
 * VOLATILE, so the count after the lock reads a snapshot taken after it
 * (a slot another replica took and committed while this one waited is
 * seen), and the lock is held until the statement's transaction ends.
 */
export class TakeRunSlot1764730000000 implements MigrationInterface {
  name = 'TakeRunSlot1764730000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION ensemble_take_run_slot(
        lock_space integer, slot_id uuid, key varchar, instance varchar, max_slots integer
      ) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(lock_space, hashtext(key));
        IF (SELECT count(*) FROM run_slots WHERE limit_key = key) >= max_slots THEN
          RETURN false;
        END IF;
        INSERT INTO run_slots (run_id, limit_key, instance_id) VALUES (slot_id, key, instance);
        RETURN true;
      END
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION ensemble_take_run_slot(integer, uuid, varchar, varchar, integer)`);
  }
}
