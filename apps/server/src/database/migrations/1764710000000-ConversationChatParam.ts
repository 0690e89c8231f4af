import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A conversation over a datasource (chat_data, chat_db_qa) or a knowledge
 * space (chat_knowledge) remembers which one: its history only makes sense
 * there. Conversations stored before this have none and take the one they
 * are next continued with.
 */
export class ConversationChatParam1764710000000 implements MigrationInterface {
  name = 'ConversationChatParam1764710000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE conversations ADD COLUMN chat_param varchar(255)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE conversations DROP COLUMN chat_param`);
  }
}
