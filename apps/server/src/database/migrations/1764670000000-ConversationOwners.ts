import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Conversations belong to the key that started them. Conversations stored
 * before this have no owner: only admin keys see them.
 */
export class ConversationOwners1764670000000 implements MigrationInterface {
  name = 'ConversationOwners1764670000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE conversations ADD COLUMN owner_key varchar(64)`);
    await q.query(`CREATE INDEX conversations_owner_idx ON conversations (owner_key, updated_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX conversations_owner_idx`);
    await q.query(`ALTER TABLE conversations DROP COLUMN owner_key`);
  }
}
