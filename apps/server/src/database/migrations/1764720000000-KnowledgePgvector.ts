import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Knowledge vectors in pgvector when the database has it: the `vector`
 * extension is created and `knowledge_vectors.embedding` becomes a `vector`
 * column (no fixed dimension: spaces may use models of different sizes), its
 * `real[]` rows converted. A database without the extension, or a role that
 * may not create it, keeps `real[]` (cosine in the process). The server reads
 * the column's type at start to know which path it is on.
 */
export class KnowledgePgvector1764720000000 implements MigrationInterface {
  name = 'KnowledgePgvector1764720000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
          RETURN;
        END IF;
        BEGIN
          CREATE EXTENSION IF NOT EXISTS vector;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE NOTICE 'pgvector is available but this role may not create the extension: vectors stay real[]';
          RETURN;
        END;
        EXECUTE 'ALTER TABLE knowledge_vectors ALTER COLUMN embedding TYPE vector USING embedding::vector';
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = 'knowledge_vectors'::regclass AND a.attname = 'embedding'
                     AND t.typname = 'vector') THEN
          EXECUTE 'ALTER TABLE knowledge_vectors ALTER COLUMN embedding TYPE real[] USING embedding::real[]';
        END IF;
      END $$`);
  }
}
