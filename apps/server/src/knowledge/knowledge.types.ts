/** A space as the routes return it: DB-GPT's `SpaceModel` fields plus its language and counts. */
export interface SpaceView {
  id: number;
  name: string;
  vector_type: string;
  desc: string;
  owner: string;
  context: string | null;
  language: string;
  docs: number;
  gmt_created: string;
  gmt_modified: string;
}

/** A document as the routes return it: DB-GPT's `DocumentModel` fields plus its indexing state. */
export interface DocumentView {
  id: number;
  doc_name: string;
  doc_type: string;
  /** The text of a TEXT document; empty for a file. */
  content: string;
  doc_source: string;
  space_id: string;
  space: string;
  format: string;
  /** `TODO` (uploaded), `RUNNING` (being indexed), `FINISHED`, `FAILED` (see `result`). */
  status: string;
  result: string;
  /** Number of chunks indexed. */
  chunk_size: number;
  last_sync: string | null;
  gmt_created: string;
  gmt_modified: string;
}

export interface Page<T> {
  items: T[];
  total_count: number;
  total_pages: number;
  page: number;
  page_size: number;
}

/** One ranked chunk of `POST /spaces/{id}/retrieve`. */
export interface RetrievedChunk {
  chunk_id: string;
  doc_id: number;
  doc_name: string;
  position: number;
  content: string;
  metadata: Record<string, unknown>;
  score: number;
}
