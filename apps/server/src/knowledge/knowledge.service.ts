import { HttpStatus, Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { setImmediate as nextTick } from 'node:timers/promises';
import { parseKnowledgeResource, type KnowledgePort, type KnowledgeReference } from '@ensemble/agents';
import { LlmError, LlmService, type EmbeddingPort } from '@ensemble/llm';
import { llmErrorToApi } from '../chat/llm-errors';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { chunkDocument, ChunkOptions, ChunkStrategy, DEFAULT_CHUNK_OPTIONS } from './chunking';
import {
  ChunkParametersDto,
  DocumentFormDto,
  ListDocumentsQuery,
  RetrieveDto,
  SpaceDto,
  SyncDto,
} from './dto/knowledge.dto';
import {
  ChunkHit,
  ChunkVectors,
  DocumentRow,
  KnowledgeRepository,
  ReplacedChunks,
  SpaceNameTaken,
  SpaceRow,
  VectorStorage,
} from './knowledge.repository';
import { KNOWLEDGE_CHAT_TOP_K, knowledgeChatTurn, KnowledgeChatTurn } from './knowledge-chat';
import type { DocumentView, Page, RetrievedChunk, SpaceView } from './knowledge.types';
import { detectFormat, DocumentError, DocumentFormat, extractText } from './parse-document';
import { fetchUrlDocument, UrlDocumentError } from './url-fetch';
import { nearest, packVectors, unitVector, VectorCache } from './vector-index';

/** An uploaded file as the multipart parser hands it over. */
export interface UploadedDocument {
  originalname: string;
  mimetype: string;
  size: number;
  buffer: Buffer;
}

/** Reciprocal-rank fusion constant (the usual 60). */
const RRF_K = 60;
/**
 * A document marked `RUNNING` longer ago than this may be synced again
 * (its sync was cut short by a restart); a newer one is refused (409).
 */
const SYNC_STALE_SECONDS = 15 * 60;
/** Longest a retrieval waits for its query's embedding (retries included) before it goes on by text only. */
const QUERY_EMBED_TIMEOUT_MS = 10_000;
/** Word-similarity threshold of the trigram path. */
const TRIGRAM_THRESHOLD = 0.2;
/** Scripts written without spaces between words: full-text search cannot split them. */
const UNSPACED_SCRIPT =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}]/u;

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

const spaceNotFound = (id: string, param = 'id') =>
  ApiError.notFound('space_not_found', `Knowledge space ${JSON.stringify(id)} was not found.`, param);
const documentNotFound = (id: string, param = 'id') =>
  ApiError.notFound('document_not_found', `Document ${JSON.stringify(id)} was not found.`, param);
const nameTaken = (name: string) =>
  ApiError.conflict('space_name_conflict', `A knowledge space named ${JSON.stringify(name)} already exists.`, 'name');

function spaceView(r: SpaceRow): SpaceView {
  return {
    id: r.id,
    name: r.name,
    vector_type: r.vector_type,
    desc: r.description,
    owner: r.owner ?? '',
    context: r.context,
    language: r.language,
    docs: r.document_count,
    gmt_created: iso(r.created_at)!,
    gmt_modified: iso(r.updated_at)!,
  };
}

function documentView(r: DocumentRow): DocumentView {
  return {
    id: r.id,
    doc_name: r.doc_name,
    doc_type: r.doc_type,
    content: r.content ?? '',
    doc_source: '',
    space_id: String(r.space_id),
    space: r.space_name,
    format: r.format,
    status: r.status,
    result: r.result ?? '',
    chunk_size: r.chunk_count,
    last_sync: iso(r.last_sync),
    gmt_created: iso(r.created_at)!,
    gmt_modified: iso(r.updated_at)!,
  };
}

/** A path id: digits, else no such thing. */
function pathId(id: string, notFound: (id: string) => ApiError): number {
  if (!/^\d{1,9}$/.test(id)) throw notFound(id);
  return Number(id);
}

function chunkOptions(p: ChunkParametersDto | null | undefined): ChunkOptions {
  const size = p?.chunk_size ?? DEFAULT_CHUNK_OPTIONS.chunkSize;
  return {
    strategy: (p?.chunk_strategy ?? DEFAULT_CHUNK_OPTIONS.strategy) as ChunkStrategy,
    chunkSize: size,
    chunkOverlap: Math.min(p?.chunk_overlap ?? DEFAULT_CHUNK_OPTIONS.chunkOverlap, Math.floor(size / 2)),
    separator: p?.separator ?? DEFAULT_CHUNK_OPTIONS.separator,
    enableMerge: p?.enable_merge ?? DEFAULT_CHUNK_OPTIONS.enableMerge,
  };
}

/** Fuses rankings by reciprocal rank: each chunk scores the sum of 1 / (60 + its rank) over the rankings. */
export function fuseRankings(rankings: ChunkHit[][], topK: number): RetrievedChunk[] {
  const fused = new Map<string, { hit: ChunkHit; score: number }>();
  for (const ranking of rankings) {
    for (const hit of ranking) {
      const entry = fused.get(hit.chunk_id) ?? { hit, score: 0 };
      entry.score += 1 / (RRF_K + hit.rank);
      fused.set(hit.chunk_id, entry);
    }
  }
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || Number(a.hit.chunk_id) - Number(b.hit.chunk_id))
    .slice(0, topK)
    .map(({ hit, score }) => ({
      chunk_id: hit.chunk_id,
      doc_id: hit.document_id,
      doc_name: hit.doc_name,
      position: hit.position,
      content: hit.content,
      metadata: hit.metadata,
      score: Number(score.toFixed(6)),
    }));
}

/**
 * Knowledge spaces, their documents (parsed at upload, chunked and indexed
 * on sync in the background) and retrieval: full-text search in the space's
 * language plus trigram similarity for unspaced scripts and, with an
 * embedding model in the models file, vector similarity, fused by
 * reciprocal rank. Vector similarity runs in Postgres on pgvector when the
 * database has it, else in the process over the space's vectors held in
 * memory.
 */
@Injectable()
export class KnowledgeService implements KnowledgePort, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Knowledge');
  /** Indexing jobs in flight; shutdown waits for them. */
  private readonly jobs = new Set<Promise<void>>();

  /** The spaces' chunk vectors, held in memory for the vector ranking (without pgvector). */
  private readonly vectors: VectorCache;
  /** Where chunk vectors are stored and ranked; read at start. */
  private storage: VectorStorage = { kind: 'array' };

  constructor(
    private readonly repo: KnowledgeRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LlmService) private readonly embeddings: EmbeddingPort,
  ) {
    this.vectors = new VectorCache(async (spaceId, model, previous) => {
      const { version, docs, rows } = await this.repo.spaceVectors(spaceId, model, previous?.docs);
      return packVectors(model, version, docs, rows, previous);
    });
  }

  async onModuleInit(): Promise<void> {
    this.storage = await this.repo.vectorStorage();
    this.logger.log(
      this.storage.kind === 'pgvector'
        ? `Knowledge vectors: pgvector ${this.storage.version} (cosine distance in SQL)`
        : 'Knowledge vectors: real[] with cosine in the process (the database has no pgvector)',
    );
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([...this.jobs]);
  }

  // ---- spaces

  private async checkLanguage(language: string | null | undefined): Promise<void> {
    if (language && !(await this.repo.textSearchConfigExists(language))) {
      throw ApiError.badRequest(
        'validation_error',
        `language ${JSON.stringify(language)} is not a text search configuration of this database (e.g. simple, english).`,
        'language',
      );
    }
  }

  async createSpace(dto: SpaceDto): Promise<SpaceView> {
    if (!dto.name) throw ApiError.badRequest('validation_error', 'name is required.', 'name');
    await this.checkLanguage(dto.language);
    try {
      return spaceView(
        await this.repo.insertSpace({
          name: dto.name,
          vector_type: dto.vector_type ?? undefined,
          description: dto.desc ?? undefined,
          owner: dto.owner ?? undefined,
          context: dto.context ?? undefined,
          language: dto.language ?? undefined,
        }),
      );
    } catch (e) {
      if (e instanceof SpaceNameTaken) throw nameTaken(dto.name);
      throw e;
    }
  }

  /** Updates the space the body's `id` names (or, without one, the space of that `name`). */
  async updateSpace(dto: SpaceDto): Promise<SpaceView> {
    let id: number;
    if (dto.id) id = Number(dto.id);
    else if (dto.name) {
      const byName = await this.repo.findSpaceByName(dto.name);
      if (!byName) throw spaceNotFound(dto.name, 'name');
      id = byName.id;
    } else throw ApiError.badRequest('validation_error', 'id (or name) is required to update a space.', 'id');
    await this.checkLanguage(dto.language);
    try {
      const row = await this.repo.updateSpace(id, {
        name: dto.name ?? undefined,
        vector_type: dto.vector_type ?? undefined,
        description: dto.desc ?? undefined,
        owner: dto.owner ?? undefined,
        context: dto.context ?? undefined,
        language: dto.language ?? undefined,
      });
      if (!row) throw spaceNotFound(String(id));
      return spaceView(row);
    } catch (e) {
      if (e instanceof SpaceNameTaken) throw nameTaken(dto.name ?? '');
      throw e;
    }
  }

  async getSpace(id: string): Promise<SpaceView> {
    const row = await this.repo.findSpace(pathId(id, spaceNotFound));
    if (!row) throw spaceNotFound(id);
    return spaceView(row);
  }

  async listSpaces(page = 1, pageSize = 20): Promise<Page<SpaceView>> {
    const { rows, total } = await this.repo.listSpaces((page - 1) * pageSize, pageSize);
    return {
      items: rows.map(spaceView),
      total_count: total,
      total_pages: Math.ceil(total / pageSize),
      page,
      page_size: pageSize,
    };
  }

  async deleteSpace(id: string): Promise<SpaceView> {
    const row = await this.repo.deleteSpace(pathId(id, spaceNotFound));
    if (!row) throw spaceNotFound(id);
    this.vectors.drop(row.id);
    return spaceView(row);
  }

  /** True when a space of that name exists. */
  async spaceExists(name: string): Promise<boolean> {
    return (await this.repo.findSpaceByName(name)) !== undefined;
  }

  // ---- documents

  /**
   * Creates a document from a text (`TEXT`) or a file (`DOCUMENT`). The file
   * is parsed now, so an unknown or broken file is refused at once; the
   * document is indexed by `sync`.
   */
  async createDocument(form: DocumentFormDto, file: UploadedDocument | undefined): Promise<DocumentView> {
    const docType = (form.doc_type ?? (file ? 'DOCUMENT' : 'TEXT')).toUpperCase();
    if (!form.space_id) throw ApiError.badRequest('validation_error', 'space_id is required.', 'space_id');
    const spaceId = pathId(form.space_id, (id) => spaceNotFound(id, 'space_id'));
    let docName = form.doc_name;
    let format: DocumentFormat;
    let body: string;
    let content: string | null = null;
    switch (docType) {
      case 'TEXT':
        if (!form.content?.trim())
          throw ApiError.badRequest('validation_error', 'content is required for doc_type TEXT.', 'content');
        if (Buffer.byteLength(form.content) > this.config.knowledgeMaxFileBytes) throw this.tooLarge('content');
        if (!docName) throw ApiError.badRequest('validation_error', 'doc_name is required.', 'doc_name');
        format = detectFormat(docName) === 'markdown' ? 'markdown' : 'text';
        body = content = form.content.replace(/\r\n?/g, '\n');
        break;
      case 'DOCUMENT': {
        if (!file)
          throw ApiError.badRequest('validation_error', 'doc_file is required for doc_type DOCUMENT.', 'doc_file');
        docName ??= file.originalname;
        ({ format, body } = await this.parseFile(file.buffer, file.originalname, file.mimetype, 'doc_file'));
        break;
      }
      case 'URL': {
        if (!this.config.knowledgeUrlAllowlist.length) {
          throw ApiError.badRequest(
            'validation_error',
            'doc_type URL is not enabled on this server (KNOWLEDGE_URL_ALLOWLIST is empty); upload the page as a DOCUMENT instead.',
            'doc_type',
          );
        }
        if (!form.content?.trim())
          throw ApiError.badRequest('validation_error', 'content (the URL) is required for doc_type URL.', 'content');
        if (!(await this.repo.findSpace(spaceId))) throw spaceNotFound(form.space_id, 'space_id');
        const fetched = await this.fetchUrl(form.content);
        content = fetched.url.href;
        docName ??= content.slice(0, 255);
        const name = fetched.url.pathname.split('/').pop() || fetched.url.hostname;
        ({ format, body } = await this.parseFile(fetched.bytes, name, fetched.contentType, 'content', true));
        break;
      }
      default:
        throw ApiError.badRequest('validation_error', 'doc_type must be one of: TEXT, DOCUMENT, URL.', 'doc_type');
    }
    if (!(await this.repo.findSpace(spaceId))) throw spaceNotFound(form.space_id, 'space_id');
    return documentView(await this.repo.insertDocument({ spaceId, docName, docType, format, content, body }));
  }

  /**
   * A file's format and text: 415 for an unknown kind, 400 for a broken
   * file, naming it. `byType`: the media type decides before the name (a
   * fetched page).
   */
  private async parseFile(
    bytes: Buffer,
    name: string,
    mimeType: string,
    param: string,
    byType = false,
  ): Promise<{ format: DocumentFormat; body: string }> {
    const format = byType ? (detectFormat('', mimeType) ?? detectFormat(name)) : detectFormat(name, mimeType);
    if (!format) {
      throw new ApiError(
        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        'unsupported_document_type',
        `${JSON.stringify(name)}${byType && mimeType ? ` (${mimeType})` : ''} is not a supported document (text, Markdown, HTML, CSV, Word .docx or PDF).`,
        param,
      );
    }
    try {
      return { format, body: await extractText(bytes, format, name) };
    } catch (e) {
      if (e instanceof DocumentError) throw ApiError.badRequest('invalid_document', e.message, param);
      throw e;
    }
  }

  /** Fetches a URL document from an allowed host; 400/413 naming what went wrong. */
  private async fetchUrl(url: string) {
    try {
      return await fetchUrlDocument(url, {
        allowlist: this.config.knowledgeUrlAllowlist,
        maxBytes: this.config.knowledgeMaxFileBytes,
        timeoutMs: this.config.knowledgeUrlTimeoutMs,
      });
    } catch (e) {
      if (!(e instanceof UrlDocumentError)) throw e;
      if (e.kind === 'too_large')
        throw new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, 'payload_too_large', e.message, 'content');
      throw ApiError.badRequest(
        e.kind === 'not_allowed' ? 'url_not_allowed' : 'url_fetch_failed',
        e.message,
        'content',
      );
    }
  }

  tooLarge(param: string, name?: string): ApiError {
    const what = name ? JSON.stringify(name) : param;
    return new ApiError(
      HttpStatus.PAYLOAD_TOO_LARGE,
      'payload_too_large',
      `${what} is larger than the limit of ${this.config.knowledgeMaxFileBytes} bytes (KNOWLEDGE_MAX_FILE_SIZE).`,
      param,
    );
  }

  async getDocument(id: string): Promise<DocumentView> {
    const row = await this.repo.findDocument(pathId(id, documentNotFound));
    if (!row) throw documentNotFound(id);
    return documentView(row);
  }

  async listDocuments(q: ListDocumentsQuery): Promise<Page<DocumentView>> {
    const page = q.page ?? 1;
    const pageSize = q.page_size ?? 20;
    const spaceId = q.space_id ? Number(q.space_id) : null;
    const { rows, total } = await this.repo.listDocuments(spaceId, (page - 1) * pageSize, pageSize);
    return {
      items: rows.map(documentView),
      total_count: total,
      total_pages: Math.ceil(total / pageSize),
      page,
      page_size: pageSize,
    };
  }

  async deleteDocument(id: string): Promise<DocumentView> {
    const row = await this.repo.deleteDocument(pathId(id, documentNotFound));
    if (!row) throw documentNotFound(id);
    return documentView(row);
  }

  /**
   * Starts indexing the documents (state `RUNNING`) and returns their ids at
   * once; each is chunked and indexed in the background, its chunks written
   * in one transaction, then `FINISHED` (or `FAILED` with the reason).
   */
  async sync(items: SyncDto[]): Promise<number[]> {
    if (!items.length) throw ApiError.badRequest('validation_error', 'The body must list at least one document.', null);
    const jobs: { id: number; options: ChunkOptions }[] = [];
    for (const [i, item] of items.entries()) {
      const row = await this.repo.findDocument(Number(item.doc_id));
      if (!row) throw documentNotFound(item.doc_id, `[${i}].doc_id`);
      if (item.space_id && Number(item.space_id) !== row.space_id) {
        throw ApiError.badRequest(
          'validation_error',
          `Document ${item.doc_id} is not in space ${item.space_id}.`,
          `[${i}].space_id`,
        );
      }
      if (jobs.some((j) => j.id === row.id)) {
        throw ApiError.badRequest(
          'validation_error',
          `Document ${row.id} is listed twice; list each document once.`,
          `[${i}].doc_id`,
        );
      }
      jobs.push({ id: row.id, options: chunkOptions(item.chunk_parameters) });
    }
    const { marked, running } = await this.repo.markRunning(
      jobs.map((j) => j.id),
      SYNC_STALE_SECONDS,
    );
    if (running) {
      const i = items.findIndex((item) => Number(item.doc_id) === running[0]);
      throw ApiError.conflict(
        'document_running',
        `Document ${running[0]} is being indexed (status RUNNING); sync it again once it is FINISHED or FAILED.`,
        `[${i}].doc_id`,
      );
    }
    for (const job of jobs) this.track(this.index(job.id, job.options));
    return marked;
  }

  private track(job: Promise<void>): void {
    this.jobs.add(job);
    void job.finally(() => this.jobs.delete(job));
  }

  /** Chunks and indexes one document (after yielding, so the request that asked has been answered). */
  private async index(id: number, options: ChunkOptions): Promise<void> {
    await nextTick();
    try {
      const doc = await this.repo.documentBody(id);
      if (!doc) return;
      const chunks = chunkDocument(doc.body, doc.format as DocumentFormat, options, { source: doc.doc_name });
      if (!chunks.length) {
        await this.repo.markFailed(id, 'The document has no text to index.');
        return;
      }
      let vectors: ChunkVectors | undefined;
      if (this.embeddings.embeddingModel) {
        try {
          vectors = await this.embedChunks(chunks.map((c) => c.content));
        } catch (e) {
          if (!(e instanceof LlmError)) throw e;
          this.logger.warn(`Embedding the chunks of document ${id} failed: ${e.message}`);
          await this.repo.markFailed(id, `Embedding the chunks failed: ${llmErrorToApi(e).message}`);
          return;
        }
      }
      const replaced = await this.repo.replaceChunks(id, chunks, vectors);
      if (replaced && vectors) await this.holdVectors(id, replaced, vectors);
    } catch (e) {
      this.logger.error(`Indexing document ${id} failed: ${(e as Error).stack ?? String(e)}`);
      await this.repo.markFailed(id, 'Indexing failed; see the server log.').catch(() => undefined);
    }
  }

  /**
   * Without pgvector: puts a synced document's vectors into the space's
   * entry of the in-memory cache, or (when the space is not held yet) loads
   * the space now, so the first query after a sync reads no vectors from
   * the database. A failure here leaves the sync done: the next query loads.
   */
  private async holdVectors(documentId: number, replaced: ReplacedChunks, vectors: ChunkVectors): Promise<void> {
    if (this.storage.kind === 'pgvector' || !replaced.vectors) return;
    const { spaceId, stamp } = replaced;
    const { version, chunkIds } = replaced.vectors;
    const rows = chunkIds.map((id, i) => ({ id, document_id: documentId, embedding: vectors.vectors[i] }));
    if (this.vectors.apply(spaceId, vectors.model, version, { id: documentId, stamp }, rows)) return;
    try {
      await this.vectors.get(spaceId, vectors.model, version);
    } catch (e) {
      this.logger.warn(`Loading the vectors of space ${spaceId} after a sync failed: ${(e as Error).message}`);
    }
  }

  /** Unit vectors of the texts, in order, by the configured embedding model (requests of its batch size, one at a time). */
  private async embedChunks(texts: string[]): Promise<ChunkVectors> {
    const size = this.embeddings.embeddingBatchSize;
    const vectors: Float32Array[] = [];
    let model = this.embeddings.embeddingModel!;
    for (let i = 0; i < texts.length; i += size) {
      const result = await this.embeddings.embed({ input: texts.slice(i, i + size) });
      model = result.model;
      for (const v of result.embeddings) vectors.push(unitVector(v));
    }
    return { model, vectors };
  }

  /** Waits until no indexing job is running (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.jobs.size) await Promise.allSettled([...this.jobs]);
  }

  // ---- retrieval

  async retrieveInSpace(id: string, dto: RetrieveDto): Promise<RetrievedChunk[]> {
    const space = await this.repo.findSpace(pathId(id, spaceNotFound));
    if (!space) throw spaceNotFound(id);
    const chunks = await this.search(space, dto.query, dto.top_k ?? 5);
    return dto.score_threshold != null ? chunks.filter((c) => c.score >= dto.score_threshold!) : chunks;
  }

  /**
   * The `topK` best chunks of a space: full-text, (for unspaced scripts)
   * trigram and (when an embedding model is configured and the space has
   * vectors of it) vector rankings, fused.
   */
  async search(space: SpaceRow, query: string, topK: number): Promise<RetrievedChunk[]> {
    const candidates = Math.max(topK * 4, 20);
    const rankings = [await this.repo.searchFullText(space.id, space.language, query, candidates)];
    if (UNSPACED_SCRIPT.test(query)) {
      rankings.push(await this.repo.searchTrigram(space.id, query, candidates, TRIGRAM_THRESHOLD));
    }
    const byVector = await this.searchVectors(space, query, candidates);
    if (byVector.length) rankings.push(byVector);
    return fuseRankings(rankings, topK);
  }

  /**
   * The vector ranking: the query's embedding against every vector of the
   * space (exact cosine: in Postgres on pgvector, else in memory). Empty
   * without an embedding model, when the space has no vectors of it, or
   * when embedding the query fails or takes longer than
   * `QUERY_EMBED_TIMEOUT_MS` (then retrieval is lexical only, and the
   * failure is logged).
   */
  private async searchVectors(space: SpaceRow, query: string, limit: number): Promise<ChunkHit[]> {
    const model = this.embeddings.embeddingModel;
    if (!model) return [];
    // Without pgvector the space's vectors are held in memory; with it they stay in Postgres.
    const held =
      this.storage.kind === 'pgvector' ? undefined : await this.vectors.get(space.id, model, space.vectors_version);
    if (!(held ? held.ids.length > 0 : await this.repo.hasVectors(space.id, model))) return [];
    let queryVector: Float32Array;
    try {
      const signal = AbortSignal.timeout(QUERY_EMBED_TIMEOUT_MS);
      queryVector = unitVector((await this.embeddings.embed({ input: [query], signal })).embeddings[0]);
    } catch (e) {
      if (!(e instanceof LlmError)) throw e;
      this.logger.warn(`Embedding a query failed, retrieving by text only: ${e.message}`);
      return [];
    }
    let hits: Omit<ChunkHit, 'rank'>[];
    if (!held) hits = await this.repo.nearestChunks(space.id, model, queryVector, limit);
    else {
      const near = await nearest(held, queryVector, limit);
      const rows = new Map((await this.repo.chunksByIds(near.map((h) => h.id))).map((r) => [r.chunk_id, r]));
      hits = near.filter((h) => rows.has(h.id)).map((h) => ({ ...rows.get(h.id)!, score: h.score }));
    }
    // A similarity of 0 or less is no match (a query sharing nothing with the space).
    return hits.filter((h) => h.score > 0).map((h, i) => ({ ...h, rank: i + 1 }));
  }

  /** The knowledge port of a run: retrieval by space name. */
  async retrieve(spaceName: string, query: string, topK: number): Promise<KnowledgeReference[]> {
    const space = await this.repo.findSpaceByName(spaceName);
    if (!space) throw new Error(`knowledge space ${JSON.stringify(spaceName)} does not exist`);
    return (await this.search(space, query, topK)).map((c) => ({
      doc_name: c.doc_name,
      doc_id: c.doc_id,
      chunk_id: c.chunk_id,
      score: c.score,
      content: c.content,
      metadata: c.metadata,
    }));
  }

  /** `chat_knowledge`: the passages of the space named by `chat_param` for the question; 404 when there is no such space. */
  async chatTurn(spaceName: string, question: string): Promise<KnowledgeChatTurn> {
    const space = await this.repo.findSpaceByName(spaceName);
    if (!space) {
      throw ApiError.notFound(
        'space_not_found',
        `Knowledge space ${JSON.stringify(spaceName)} was not found (chat_param names a space for chat_knowledge).`,
        'chat_param',
      );
    }
    const chunks = await this.search(space, question, KNOWLEDGE_CHAT_TOP_K);
    return knowledgeChatTurn(
      space.name,
      chunks.map((c) => ({
        doc_name: c.doc_name,
        doc_id: c.doc_id,
        chunk_id: c.chunk_id,
        score: c.score,
        content: c.content,
        metadata: c.metadata,
      })),
    );
  }

  /**
   * Checks the `knowledge` resources of an app's details: each must name an
   * existing space. A 400 naming `details[i].resources[j]` otherwise.
   */
  async checkAppResources(details: readonly { resources?: unknown }[] | undefined): Promise<void> {
    for (const [i, detail] of (details ?? []).entries()) {
      const resources = Array.isArray(detail.resources) ? (detail.resources as unknown[]) : [];
      for (const [j, resource] of resources.entries()) {
        if (typeof resource !== 'object' || resource === null) continue;
        const r = resource as { type?: unknown; value?: unknown };
        if (r.type !== 'knowledge') continue;
        const param = `details[${i}].resources[${j}]`;
        const parsed = parseKnowledgeResource(r.value);
        if (!parsed) {
          throw ApiError.badRequest(
            'validation_error',
            `${param}.value must name a knowledge space: {"space_name": "<space>", "top_k": 5} or "<space>".`,
            param,
          );
        }
        if (!(await this.spaceExists(parsed.spaceName))) {
          throw ApiError.badRequest(
            'validation_error',
            `${param} names the knowledge space ${JSON.stringify(parsed.spaceName)}, which does not exist.`,
            param,
          );
        }
      }
    }
  }
}
