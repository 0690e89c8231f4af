import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hybrid retrieval: each document records the embedding model its chunks'
 * vectors (`knowledge_chunks.embedding`, unit length) came from, so vectors
 * of another model are never compared with a query's; each space counts
 * the changes to its vectors, so a process holding them in memory knows
 * when to read them again.
 */
export class KnowledgeEmbeddings1764700000000 implements MigrationInterface {
  name = 'KnowledgeEmbeddings1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE knowledge_documents ADD COLUMN embedding_model varchar(255)`);
    await q.query(`ALTER TABLE knowledge_spaces ADD COLUMN vectors_version bigint NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE knowledge_spaces DROP COLUMN vectors_version`);
    await q.query(`ALTER TABLE knowledge_documents DROP COLUMN embedding_model`);
  }
}
