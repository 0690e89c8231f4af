import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Knowledge spaces, their documents and the documents' chunks. Chunks carry a
 * full-text vector built with the space's text search configuration and a
 * trigram index on their text (for scripts full-text search cannot split,
 * such as Chinese and Japanese); an optional embedding (a float array) for
 * hybrid retrieval. Deleting a space or a document deletes its chunks.
 */
export class CreateKnowledge1764615150000 implements MigrationInterface {
  name = 'CreateKnowledge1764615150000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`
      CREATE TABLE knowledge_spaces (
        id           serial NOT NULL,
        name         varchar(128) NOT NULL,
        vector_type  varchar(64) NOT NULL DEFAULT 'pg_fts',
        description  text NOT NULL DEFAULT '',
        owner        varchar(255),
        context      text,
        language     varchar(64) NOT NULL DEFAULT 'simple',
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT knowledge_spaces_pkey PRIMARY KEY (id),
        CONSTRAINT knowledge_spaces_name_key UNIQUE (name)
      )`);
    await q.query(`
      CREATE TABLE knowledge_documents (
        id           serial NOT NULL,
        space_id     integer NOT NULL,
        doc_name     varchar(255) NOT NULL,
        doc_type     varchar(16) NOT NULL,
        format       varchar(16) NOT NULL,
        content      text,
        body         text NOT NULL,
        status       varchar(16) NOT NULL DEFAULT 'TODO',
        result       text,
        chunk_count  integer NOT NULL DEFAULT 0,
        last_sync    timestamptz,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT knowledge_documents_pkey PRIMARY KEY (id),
        CONSTRAINT knowledge_documents_space_fkey FOREIGN KEY (space_id)
          REFERENCES knowledge_spaces (id) ON DELETE CASCADE,
        CONSTRAINT knowledge_documents_status_check CHECK (status IN ('TODO', 'RUNNING', 'FINISHED', 'FAILED'))
      )`);
    await q.query(`CREATE INDEX knowledge_documents_space_idx ON knowledge_documents (space_id, id)`);
    await q.query(`
      CREATE TABLE knowledge_chunks (
        id           bigserial NOT NULL,
        space_id     integer NOT NULL,
        document_id  integer NOT NULL,
        position     integer NOT NULL,
        content      text NOT NULL,
        metadata     jsonb NOT NULL DEFAULT '{}',
        tsv          tsvector NOT NULL,
        embedding    real[],
        CONSTRAINT knowledge_chunks_pkey PRIMARY KEY (id),
        CONSTRAINT knowledge_chunks_document_fkey FOREIGN KEY (document_id)
          REFERENCES knowledge_documents (id) ON DELETE CASCADE,
        CONSTRAINT knowledge_chunks_space_fkey FOREIGN KEY (space_id)
          REFERENCES knowledge_spaces (id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX knowledge_chunks_document_idx ON knowledge_chunks (document_id, position)`);
    await q.query(`CREATE INDEX knowledge_chunks_space_idx ON knowledge_chunks (space_id)`);
    await q.query(`CREATE INDEX knowledge_chunks_tsv_idx ON knowledge_chunks USING gin (tsv)`);
    await q.query(`CREATE INDEX knowledge_chunks_trgm_idx ON knowledge_chunks USING gin (content gin_trgm_ops)`);
    // Per space and lexeme, the number of chunks holding it: the document frequencies of the ranking.
    await q.query(`
      CREATE TABLE knowledge_terms (
        space_id  integer NOT NULL,
        lexeme    text NOT NULL,
        df        integer NOT NULL,
        CONSTRAINT knowledge_terms_pkey PRIMARY KEY (space_id, lexeme),
        CONSTRAINT knowledge_terms_space_fkey FOREIGN KEY (space_id)
          REFERENCES knowledge_spaces (id) ON DELETE CASCADE
      )`);
    // The references (or other resources) a message drew on, stored with it.
    await q.query(`ALTER TABLE conversation_messages ADD COLUMN resource jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE conversation_messages DROP COLUMN resource`);
    await q.query(`DROP TABLE knowledge_terms`);
    await q.query(`DROP TABLE knowledge_chunks`);
    await q.query(`DROP TABLE knowledge_documents`);
    await q.query(`DROP TABLE knowledge_spaces`);
  }
}
