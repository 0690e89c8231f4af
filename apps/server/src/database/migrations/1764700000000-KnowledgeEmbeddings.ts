import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hybrid retrieval: chunk vectors (unit length, `real[]`; this Postgres has
 * no pgvector) in their own table, so the chunks' rows that full-text
 * search reads stay narrow; each document records the embedding model its
 * vectors came from, so vectors of another model are never compared with a
 * query's; each space counts the changes to its vectors, so a process
 * holding them in memory knows when to read them again.
 */
export class KnowledgeEmbeddings1764700000000 implements MigrationInterface {
  name = 'KnowledgeEmbeddings1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE knowledge_documents ADD COLUMN embedding_model varchar(255)`);
    await q.query(`ALTER TABLE knowledge_spaces ADD COLUMN vectors_version bigint NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE knowledge_chunks DROP COLUMN embedding`);
    await q.query(`
      CREATE TABLE knowledge_vectors (
        chunk_id     bigint NOT NULL,
        space_id     integer NOT NULL,
        document_id  integer NOT NULL,
        embedding    real[] NOT NULL,
        CONSTRAINT knowledge_vectors_pkey PRIMARY KEY (chunk_id),
        CONSTRAINT knowledge_vectors_chunk_fkey FOREIGN KEY (chunk_id)
          REFERENCES knowledge_chunks (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX knowledge_vectors_space_idx ON knowledge_vectors (space_id, document_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE knowledge_vectors`);
    await q.query(`ALTER TABLE knowledge_chunks ADD COLUMN embedding real[]`);
    await q.query(`ALTER TABLE knowledge_spaces DROP COLUMN vectors_version`);
    await q.query(`ALTER TABLE knowledge_documents DROP COLUMN embedding_model`);
  }
}
