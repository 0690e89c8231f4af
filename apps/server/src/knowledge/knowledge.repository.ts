import { Injectable } from '@nestjs/common';
import { PgCode, pgError, Query, Sql } from '../database/sql';
import type { Chunk } from './chunking';

export interface SpaceRow {
  id: number;
  name: string;
  vector_type: string;
  description: string;
  owner: string | null;
  context: string | null;
  language: string;
  created_at: Date;
  updated_at: Date;
  document_count: number;
  /** Bumped whenever the space's chunk vectors change (a string: bigint). */
  vectors_version: string;
}

export interface DocumentRow {
  id: number;
  space_id: number;
  space_name: string;
  doc_name: string;
  doc_type: string;
  format: string;
  content: string | null;
  status: string;
  result: string | null;
  chunk_count: number;
  last_sync: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A document's text as stored for indexing. */
export interface DocumentBody {
  id: number;
  space_id: number;
  doc_name: string;
  format: string;
  body: string;
}

export interface ChunkHit {
  chunk_id: string;
  document_id: number;
  doc_name: string;
  position: number;
  content: string;
  metadata: Record<string, unknown>;
  /** 1, 2, … in this ranking. */
  rank: number;
  /** The ranking's own score (text rank, trigram similarity, cosine). */
  score: number;
}

export type SpaceFields = Partial<
  Pick<SpaceRow, 'name' | 'vector_type' | 'description' | 'owner' | 'context' | 'language'>
>;

/** A space name already taken (unique violation). */
export class SpaceNameTaken extends Error {}

const SPACE_COLUMNS = `s.id, s.name, s.vector_type, s.description, s.owner, s.context, s.language, s.created_at,
  s.updated_at, s.vectors_version::text AS vectors_version,
  (SELECT count(*)::int FROM knowledge_documents d WHERE d.space_id = s.id) AS document_count`;

const DOCUMENT_COLUMNS = `d.id, d.space_id, s.name AS space_name, d.doc_name, d.doc_type, d.format, d.content, d.status,
  d.result, d.chunk_count, d.last_sync, d.created_at, d.updated_at`;

/** A query term found in more chunks than this is too common to pick candidates by (and its count stops there). */
const RARE_TERM_ROWS = 1000;

/** Key of the advisory locks around a space's term counts (with the space id). */
const TERMS_LOCK = 0x6b6e;

/** Vectors read per statement (whole documents at a time) when a space's vectors are loaded. */
const VECTORS_PER_READ = 20_000;

/** Chunks inserted per statement. */
const INSERT_BATCH = 1000;

const isUniqueViolation = (e: unknown) => pgError(e)?.code === PgCode.UniqueViolation;

/** A chunk's vector with its id, as a space's vectors are read for the vector ranking. */
export interface ChunkVector {
  id: string;
  document_id: number;
  embedding: ArrayLike<number>;
}

/** A document with vectors, and which sync of it they are of (its `last_sync`). */
export interface VectorDocument {
  id: number;
  stamp: string;
}

/** The vectors of a document's chunks and the embedding model they came from. */
export interface ChunkVectors {
  model: string;
  /** One unit-length vector per chunk, in the chunks' order. */
  vectors: ArrayLike<number>[];
}

/** A document's chunks as just written by `replaceChunks`: its sync, and the ids of the chunks' vectors. */
export interface ReplacedChunks {
  spaceId: number;
  /** The document's `last_sync` (the stamp of its vectors). */
  stamp: string;
  /** With vectors: the space's `vectors_version` after this change, and each chunk's id in the chunks' order. */
  vectors?: { version: string; chunkIds: string[] };
}

/**
 * Where chunk vectors live: a pgvector `vector` column (ranked by cosine
 * distance in SQL), or `real[]` (ranked in the process) on a database
 * without pgvector.
 */
export type VectorStorage = { kind: 'pgvector'; version: string } | { kind: 'array' };

/** What `markRunning` did: the ids it marked, or (marking none) the ids already being indexed. */
export type MarkRunningResult = { marked: number[]; running?: undefined } | { marked?: undefined; running: number[] };

/** Every SQL statement of the knowledge tables: spaces, documents and chunks. */
@Injectable()
export class KnowledgeRepository {
  constructor(private readonly sql: Sql) {}

  /** How `knowledge_vectors.embedding` is stored (the migration made it `vector` when pgvector was there). */
  async vectorStorage(): Promise<VectorStorage> {
    const [row] = await this.sql.query<{ typname: string; extversion: string | null }>(
      `SELECT t.typname, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS extversion
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       WHERE a.attrelid = 'knowledge_vectors'::regclass AND a.attname = 'embedding'`,
    );
    return row?.typname === 'vector' ? { kind: 'pgvector', version: row.extversion ?? '' } : { kind: 'array' };
  }

  /** True when Postgres has a text search configuration of that name. */
  async textSearchConfigExists(name: string): Promise<boolean> {
    return (await this.sql.query(`SELECT 1 FROM pg_ts_config WHERE cfgname = $1`, [name])).length > 0;
  }

  async insertSpace(f: Required<Pick<SpaceFields, 'name'>> & SpaceFields): Promise<SpaceRow> {
    try {
      const [row] = await this.sql.query<{ id: number }>(
        `INSERT INTO knowledge_spaces (name, vector_type, description, owner, context, language)
         VALUES ($1, coalesce($2, 'pg_fts'), coalesce($3, ''), $4, $5, coalesce($6, 'simple')) RETURNING id`,
        [f.name, f.vector_type ?? null, f.description ?? null, f.owner ?? null, f.context ?? null, f.language ?? null],
      );
      return (await this.findSpace(row.id))!;
    } catch (e) {
      if (isUniqueViolation(e)) throw new SpaceNameTaken(f.name);
      throw e;
    }
  }

  /**
   * Updates the given fields; a new language re-indexes the space's chunks
   * in the same transaction. Undefined when there is no such space.
   */
  async updateSpace(id: number, f: SpaceFields): Promise<SpaceRow | undefined> {
    try {
      return await this.sql.transaction(async (query) => {
        const [old] = await query<{ language: string }>(
          `SELECT language FROM knowledge_spaces WHERE id = $1 FOR UPDATE`,
          [id],
        );
        if (!old) return undefined;
        const sets = Object.keys(f).filter((k) => f[k as keyof SpaceFields] !== undefined) as (keyof SpaceFields)[];
        if (sets.length) {
          await query(
            `UPDATE knowledge_spaces SET ${sets.map((k, i) => `${k} = $${i + 2}`).join(', ')}, updated_at = now()
             WHERE id = $1`,
            [id, ...sets.map((k) => f[k])],
          );
        }
        if (f.language && f.language !== old.language) {
          await lockTerms(query, id);
          await query(`UPDATE knowledge_chunks SET tsv = to_tsvector($2::regconfig, content) WHERE space_id = $1`, [
            id,
            f.language,
          ]);
          await query(`DELETE FROM knowledge_terms WHERE space_id = $1`, [id]);
          await addTerms(query, id, 'space_id', id);
        }
        return this.findSpace(id, query);
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new SpaceNameTaken(f.name ?? '');
      throw e;
    }
  }

  async findSpace(id: number, query: Query = this.sql.query): Promise<SpaceRow | undefined> {
    return (await query<SpaceRow>(`SELECT ${SPACE_COLUMNS} FROM knowledge_spaces s WHERE s.id = $1`, [id]))[0];
  }

  async findSpaceByName(name: string): Promise<SpaceRow | undefined> {
    return (
      await this.sql.query<SpaceRow>(`SELECT ${SPACE_COLUMNS} FROM knowledge_spaces s WHERE s.name = $1`, [name])
    )[0];
  }

  async listSpaces(offset: number, limit: number): Promise<{ rows: SpaceRow[]; total: number }> {
    const rows = await this.sql.query<SpaceRow & { total: number }>(
      `SELECT ${SPACE_COLUMNS}, count(*) OVER ()::int AS total FROM knowledge_spaces s ORDER BY s.id OFFSET $1 LIMIT $2`,
      [offset, limit],
    );
    return { rows, total: rows[0]?.total ?? (await this.count('knowledge_spaces', null)) };
  }

  /** Deletes a space; its documents and chunks go with it (foreign keys, one statement). */
  async deleteSpace(id: number): Promise<SpaceRow | undefined> {
    return this.sql.transaction(async (query) => {
      const row = await this.findSpace(id, query);
      if (row) await query(`DELETE FROM knowledge_spaces WHERE id = $1`, [id]);
      return row;
    });
  }

  async insertDocument(d: {
    spaceId: number;
    docName: string;
    docType: string;
    format: string;
    content: string | null;
    body: string;
  }): Promise<DocumentRow> {
    const [row] = await this.sql.query<{ id: number }>(
      `INSERT INTO knowledge_documents (space_id, doc_name, doc_type, format, content, body)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [d.spaceId, d.docName, d.docType, d.format, d.content, d.body],
    );
    return (await this.findDocument(row.id))!;
  }

  async findDocument(id: number, query: Query = this.sql.query): Promise<DocumentRow | undefined> {
    const rows = await query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS} FROM knowledge_documents d JOIN knowledge_spaces s ON s.id = d.space_id
       WHERE d.id = $1`,
      [id],
    );
    return rows[0];
  }

  async listDocuments(
    spaceId: number | null,
    offset: number,
    limit: number,
  ): Promise<{ rows: DocumentRow[]; total: number }> {
    const rows = await this.sql.query<DocumentRow & { total: number }>(
      `SELECT ${DOCUMENT_COLUMNS}, count(*) OVER ()::int AS total
       FROM knowledge_documents d JOIN knowledge_spaces s ON s.id = d.space_id
       WHERE ($1::int IS NULL OR d.space_id = $1) ORDER BY d.id OFFSET $2 LIMIT $3`,
      [spaceId, offset, limit],
    );
    return { rows, total: rows[0]?.total ?? (await this.count('knowledge_documents', spaceId)) };
  }

  private async count(table: 'knowledge_spaces' | 'knowledge_documents', spaceId: number | null): Promise<number> {
    const [row] = await this.sql.query<{ n: number }>(
      table === 'knowledge_spaces'
        ? `SELECT count(*)::int AS n FROM knowledge_spaces`
        : `SELECT count(*)::int AS n FROM knowledge_documents WHERE ($1::int IS NULL OR space_id = $1)`,
      table === 'knowledge_spaces' ? [] : [spaceId],
    );
    return row.n;
  }

  /** Deletes a document and its chunks (one statement, foreign key). */
  async deleteDocument(id: number): Promise<DocumentRow | undefined> {
    return this.sql.transaction(async (query) => {
      const row = await this.findDocument(id, query);
      if (row) {
        await lockTerms(query, row.space_id);
        await subtractTerms(query, row.space_id, id);
        const [gone] = await query<{ embedding_model: string | null }>(
          `DELETE FROM knowledge_documents WHERE id = $1 RETURNING embedding_model`,
          [id],
        );
        if (gone?.embedding_model) await bumpVectors(query, row.space_id);
      }
      return row;
    });
  }

  /**
   * Marks documents `RUNNING`, all or none: when one of them is already
   * `RUNNING` (and was marked less than `staleSeconds` ago: a sync cut
   * short by a restart does not block its document for ever), marks
   * nothing and returns those ids. The rows are locked first, so of two
   * concurrent syncs of a document exactly one marks it.
   */
  async markRunning(ids: number[], staleSeconds: number): Promise<MarkRunningResult> {
    return this.sql.transaction(async (query) => {
      const rows = await query<{ id: number; busy: boolean }>(
        `SELECT id, (status = 'RUNNING' AND updated_at > now() - make_interval(secs => $2)) AS busy
         FROM knowledge_documents WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE`,
        [ids, staleSeconds],
      );
      const running = rows.filter((r) => r.busy).map((r) => r.id);
      if (running.length) return { running };
      const marked = await query<{ id: number }>(
        `UPDATE knowledge_documents SET status = 'RUNNING', result = NULL, updated_at = now()
         WHERE id = ANY($1::int[]) RETURNING id`,
        [ids],
      );
      return { marked: marked.map((r) => r.id) };
    });
  }

  async documentBody(id: number): Promise<DocumentBody | undefined> {
    const rows = await this.sql.query<DocumentBody>(
      `SELECT id, space_id, doc_name, format, body FROM knowledge_documents WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  /**
   * Replaces a document's chunks and marks it `FINISHED`, in one transaction:
   * retrieval sees the old chunks or all the new ones, never a part. The
   * full-text vector uses the space's configuration. With `vectors`, each
   * chunk keeps its vector (a `real[]`, or a pgvector `vector` by the
   * column's assignment cast) and the document the model's name. Undefined
   * when the document is gone.
   */
  async replaceChunks(
    documentId: number,
    chunks: Chunk[],
    vectors?: ChunkVectors,
  ): Promise<ReplacedChunks | undefined> {
    return this.sql.transaction(async (query) => {
      const [doc] = await query<{ space_id: number; language: string; embedding_model: string | null }>(
        `SELECT d.space_id, s.language, d.embedding_model
         FROM knowledge_documents d JOIN knowledge_spaces s ON s.id = d.space_id
         WHERE d.id = $1 FOR UPDATE OF d`,
        [documentId],
      );
      if (!doc) return undefined;
      const chunkIds: string[] = [];
      await lockTerms(query, doc.space_id);
      await subtractTerms(query, doc.space_id, documentId);
      await query(`DELETE FROM knowledge_chunks WHERE document_id = $1`, [documentId]);
      for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
        const batch = chunks.slice(i, i + INSERT_BATCH);
        const embeddings = vectors?.vectors
          .slice(i, i + INSERT_BATCH)
          .map((v) => `{${Array.prototype.join.call(v, ',')}}`);
        const params = [
          doc.space_id,
          documentId,
          doc.language,
          batch.map((c) => c.position),
          batch.map((c) => c.content),
          batch.map((c) => JSON.stringify(c.metadata)),
        ];
        const insertChunks = `INSERT INTO knowledge_chunks (space_id, document_id, position, content, metadata, tsv)
           SELECT $1, $2, c.position, c.content, c.metadata::jsonb, to_tsvector($3::regconfig, c.content)
           FROM unnest($4::int[], $5::text[], $6::text[]) AS c(position, content, metadata)`;
        if (!embeddings) await query(insertChunks, params);
        else {
          // Each vector goes with its chunk by position (unique in a document).
          const inserted = await query<{ id: string; position: number }>(
            `WITH c AS (${insertChunks} RETURNING id, position),
             vec AS (
               INSERT INTO knowledge_vectors (chunk_id, space_id, document_id, embedding)
               SELECT c.id, $1, $2, v.embedding::real[]
               FROM c JOIN unnest($4::int[], $7::text[]) AS v(position, embedding) ON v.position = c.position
             )
             SELECT c.id::text AS id, c.position FROM c`,
            [...params, embeddings],
          );
          const byPosition = new Map(inserted.map((r) => [r.position, r.id]));
          for (const c of batch) chunkIds.push(byPosition.get(c.position)!);
        }
      }
      await addTerms(query, doc.space_id, 'document_id', documentId);
      const [synced] = await query<{ stamp: string }>(
        `UPDATE knowledge_documents SET status = 'FINISHED', result = NULL, chunk_count = $2, last_sync = now(),
         embedding_model = $3, updated_at = now() WHERE id = $1 RETURNING last_sync::text AS stamp`,
        [documentId, chunks.length, vectors?.model ?? null],
      );
      const version = vectors || doc.embedding_model ? await bumpVectors(query, doc.space_id) : undefined;
      return {
        spaceId: doc.space_id,
        stamp: synced.stamp,
        ...(vectors && { vectors: { version: version!, chunkIds } }),
      };
    });
  }

  async markFailed(documentId: number, reason: string): Promise<void> {
    await this.sql.query(
      `UPDATE knowledge_documents SET status = 'FAILED', result = $2, updated_at = now() WHERE id = $1`,
      [documentId, reason],
    );
  }

  /**
   * Full-text ranking, BM25-style: each query term (in the space's
   * configuration) counts its inverse document frequency in the space
   * (`knowledge_terms`); the sum is scaled by (1 + the chunk's cover
   * density for the query).
   * Candidates are the chunks holding a term found in at most
   * `RARE_TERM_ROWS` chunks (the terms that tell chunks apart); when every
   * term is that common, the first `RARE_TERM_ROWS` chunks holding the least
   * common one.
   * So the cost follows the rare terms' postings, not the size of the space.
   * (`space_id + 0`: the space is a filter on the full-text index's matches,
   * never a bitmap of every chunk of the space.)
   */
  async searchFullText(spaceId: number, language: string, query: string, limit: number): Promise<ChunkHit[]> {
    const rows = await this.sql.prepared<Record<string, unknown>>(
      `WITH terms AS (
         SELECT DISTINCT t.lexeme, plainto_tsquery('simple', t.lexeme) AS tq
         FROM unnest(tsvector_to_array(to_tsvector($2::regconfig, $3))) AS t(lexeme)
       ),
       total AS (
         SELECT greatest(coalesce(sum(chunk_count), 0), 1)::float8 AS n FROM knowledge_documents WHERE space_id = $1
       ),
       weighted AS MATERIALIZED (
         SELECT t.tq, k.df, ln(1 + greatest(total.n - k.df + 0.5, 0.5) / (k.df + 0.5)) AS idf
         FROM terms t JOIN knowledge_terms k ON k.space_id = $1 AND k.lexeme = t.lexeme, total
         WHERE k.df > 0
       ),
       anyterm AS (SELECT string_agg(w.tq::text, ' | ')::tsquery AS q FROM weighted w),
       rare AS MATERIALIZED (
         SELECT DISTINCT c.id FROM weighted w JOIN knowledge_chunks c ON c.tsv @@ w.tq AND c.space_id + 0 = $1
         WHERE w.df <= $5
       ),
       candidates AS (
         SELECT id FROM rare
         UNION ALL
         (SELECT c.id FROM knowledge_chunks c
          WHERE NOT EXISTS (SELECT 1 FROM rare) AND c.space_id + 0 = $1
            AND c.tsv @@ (SELECT w.tq FROM weighted w ORDER BY w.df LIMIT 1)
          LIMIT $5)
       ),
       cand AS MATERIALIZED (SELECT DISTINCT c.id, c.tsv FROM candidates k JOIN knowledge_chunks c ON c.id = k.id),
       scored AS (
         SELECT cand.id,
                (SELECT sum(w.idf) FROM weighted w WHERE cand.tsv @@ w.tq) * (1 + ts_rank_cd(cand.tsv, anyterm.q, 1)) AS score
         FROM cand, anyterm ORDER BY score DESC, cand.id LIMIT $4
       )
       SELECT c.id::text AS chunk_id, c.document_id, d.doc_name, c.position, c.content, c.metadata, s.score
       FROM scored s JOIN knowledge_chunks c ON c.id = s.id JOIN knowledge_documents d ON d.id = c.document_id
       ORDER BY s.score DESC, c.id`,
      [spaceId, language, query, limit, RARE_TERM_ROWS],
    );
    return ranked(rows);
  }

  /**
   * Trigram ranking for text full-text search cannot split (Chinese,
   * Japanese): chunks containing a stretch similar to the query, most
   * similar first.
   */
  async searchTrigram(spaceId: number, query: string, limit: number, threshold: number): Promise<ChunkHit[]> {
    return this.sql.transaction(async (q) => {
      await q(`SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)`, [String(threshold)]);
      const rows = await q<Record<string, unknown>>(
        `SELECT c.id::text AS chunk_id, c.document_id, d.doc_name, c.position, c.content, c.metadata,
                word_similarity($2, c.content) AS score
         FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id
         WHERE c.space_id = $1 AND $2 <% c.content
         ORDER BY score DESC, c.id LIMIT $3`,
        [spaceId, query, limit],
      );
      return ranked(rows);
    });
  }

  /**
   * The documents of a space whose vectors are of `model`, and the vectors
   * of those not `known` at the same stamp (all of them without `known`),
   * with the space's vectors version, all of one snapshot.
   */
  async spaceVectors(
    spaceId: number,
    model: string,
    known?: ReadonlyMap<number, { stamp: string }>,
  ): Promise<{ version: string; docs: VectorDocument[]; rows: ChunkVector[] }> {
    return this.sql.transaction(async (query) => {
      // One snapshot: the version read describes exactly the vectors read.
      await query(`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`);
      const [space] = await query<{ version: string }>(
        `SELECT vectors_version::text AS version FROM knowledge_spaces WHERE id = $1`,
        [spaceId],
      );
      const docs = await query<VectorDocument & { chunk_count: number }>(
        `SELECT id, last_sync::text AS stamp, chunk_count FROM knowledge_documents
         WHERE space_id = $1 AND embedding_model = $2 ORDER BY id`,
        [spaceId, model],
      );
      const wanted = docs.filter((d) => known?.get(d.id)?.stamp !== d.stamp);
      // Read a few documents at a time (each statement well within the statement timeout, whatever the
      // space's size), in Postgres's binary form of the arrays: decoding it costs far less than their text.
      const rows: ChunkVector[] = [];
      for (let i = 0; i < wanted.length; ) {
        const batch: number[] = [];
        for (
          let n = 0;
          i < wanted.length && (batch.length === 0 || n + wanted[i].chunk_count <= VECTORS_PER_READ);
          i++
        ) {
          batch.push(wanted[i].id);
          n += wanted[i].chunk_count;
        }
        const read = await query<{ id: string; document_id: number; embedding: Uint8Array }>(
          `SELECT chunk_id::text AS id, document_id, array_send(embedding) AS embedding FROM knowledge_vectors
           WHERE space_id = $1 AND document_id = ANY($2::int[])`,
          [spaceId, batch],
        );
        for (const r of read) rows.push({ id: r.id, document_id: r.document_id, embedding: float4Array(r.embedding) });
      }
      return {
        version: space?.version ?? '0',
        docs: docs.map(({ id, stamp }) => ({ id, stamp })),
        rows,
      };
    });
  }

  /** True when some document of the space has vectors of `model` (pgvector path: before embedding a query). */
  async hasVectors(spaceId: number, model: string): Promise<boolean> {
    const rows = await this.sql.query(
      `SELECT 1 FROM knowledge_documents WHERE space_id = $1 AND embedding_model = $2 AND chunk_count > 0 LIMIT 1`,
      [spaceId, model],
    );
    return rows.length > 0;
  }

  /**
   * Vector ranking on pgvector: the `limit` chunks of the space (of documents
   * embedded by `model`) nearest to `vector` by cosine distance, computed in
   * Postgres; score = cosine similarity (1 - distance), best first. An exact
   * scan of the space's vectors, written against `vector(<dims>)` so that a
   * partial HNSW index of that dimension serves it when an operator adds one
   * (see the README).
   */
  async nearestChunks(spaceId: number, model: string, vector: ArrayLike<number>, limit: number): Promise<ChunkHit[]> {
    const dims = vector.length;
    if (!Number.isInteger(dims) || dims < 1) return [];
    const typed = `vector(${dims})`;
    const rows = await this.sql.query<Record<string, unknown>>(
      `WITH near AS MATERIALIZED (
         SELECT v.chunk_id, v.embedding::${typed} <=> $2::${typed} AS distance
         FROM knowledge_vectors v
         WHERE v.space_id = $1 AND vector_dims(v.embedding) = ${dims}
           AND v.document_id IN (SELECT id FROM knowledge_documents WHERE space_id = $1 AND embedding_model = $3)
         ORDER BY distance LIMIT $4
       )
       SELECT c.id::text AS chunk_id, c.document_id, d.doc_name, c.position, c.content, c.metadata,
              1 - n.distance AS score
       FROM near n JOIN knowledge_chunks c ON c.id = n.chunk_id JOIN knowledge_documents d ON d.id = c.document_id
       ORDER BY n.distance, c.id`,
      [spaceId, `[${Array.prototype.join.call(vector, ',')}]`, model, limit],
    );
    return ranked(rows);
  }

  /** The chunks of these ids (with their document's name), in no particular order; ids that are gone are left out. */
  async chunksByIds(ids: string[]): Promise<Omit<ChunkHit, 'rank' | 'score'>[]> {
    return this.sql.query(
      `SELECT c.id::text AS chunk_id, c.document_id, d.doc_name, c.position, c.content, c.metadata
       FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id
       WHERE c.id = ANY($1::bigint[])`,
      [ids],
    );
  }
}

function ranked(rows: Record<string, unknown>[]): ChunkHit[] {
  return rows.map((r, i) => ({ ...(r as unknown as ChunkHit), score: Number(r.score), rank: i + 1 }));
}

/**
 * Serialises the writes of one space's term counts (document frequencies), so
 * that concurrent syncs in a space neither deadlock nor lose counts.
 */
async function lockTerms(query: Query, spaceId: number): Promise<void> {
  await query(`SELECT pg_advisory_xact_lock($1, $2)`, [TERMS_LOCK, spaceId]);
}

/** Adds the lexemes of the chunks of one document (or of a whole space) to the space's term counts. */
async function addTerms(query: Query, spaceId: number, column: 'document_id' | 'space_id', id: number): Promise<void> {
  await query(
    `INSERT INTO knowledge_terms (space_id, lexeme, df)
     SELECT $1, s.word, s.ndoc FROM ts_stat(format('SELECT tsv FROM knowledge_chunks WHERE ${column} = %s', $2::int)) s
     ON CONFLICT (space_id, lexeme) DO UPDATE SET df = knowledge_terms.df + EXCLUDED.df`,
    [spaceId, id],
  );
}

/** Removes the lexemes of a document's chunks from the space's term counts. */
async function subtractTerms(query: Query, spaceId: number, documentId: number): Promise<void> {
  await query(
    `UPDATE knowledge_terms t SET df = t.df - s.ndoc
     FROM ts_stat(format('SELECT tsv FROM knowledge_chunks WHERE document_id = %s', $2::int)) s
     WHERE t.space_id = $1 AND t.lexeme = s.word`,
    [spaceId, documentId],
  );
}

/** Marks a change of the space's chunk vectors (processes holding them read them again); the new version. */
async function bumpVectors(query: Query, spaceId: number): Promise<string> {
  const [row] = await query<{ version: string }>(
    `UPDATE knowledge_spaces SET vectors_version = vectors_version + 1 WHERE id = $1 RETURNING vectors_version::text AS version`,
    [spaceId],
  );
  return row.version;
}

/**
 * A one-dimensional `real[]` from its binary form (`array_send`): the number
 * of dimensions, a nulls flag, the element type, each dimension's size and
 * lower bound, then each element as its length and its big-endian float (a
 * null, length -1, reads as 0).
 */
export function float4Array(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ndim = view.getInt32(0);
  if (ndim === 0) return new Float32Array(0);
  const out = new Float32Array(view.getInt32(12));
  let offset = 12 + 8 * ndim;
  for (let i = 0; i < out.length; i++) {
    const length = view.getInt32(offset);
    offset += 4;
    if (length < 0) continue;
    out[i] = view.getFloat32(offset);
    offset += length;
  }
  return out;
}
