import { ApiProperty } from '@nestjs/swagger';
import type { DocumentView, Page, RetrievedChunk, SpaceView } from '../knowledge.types';

/** A space: DB-GPT's `SpaceModel` fields plus its language and document count. */
export class SpaceResponse implements SpaceView {
  @ApiProperty({ type: 'integer' })
  id: number;

  @ApiProperty()
  name: string;

  @ApiProperty({ description: 'As DB-GPT names the store; kept as sent.' })
  vector_type: string;

  @ApiProperty()
  desc: string;

  @ApiProperty()
  owner: string;

  @ApiProperty({ type: String, nullable: true })
  context: string | null;

  @ApiProperty({ description: 'Postgres text search configuration (`simple`, `english`, …).' })
  language: string;

  @ApiProperty({ type: 'integer', description: 'Documents in the space.' })
  docs: number;

  @ApiProperty()
  gmt_created: string;

  @ApiProperty()
  gmt_modified: string;
}

/** A document: DB-GPT's `DocumentModel` fields plus its indexing state. */
export class DocumentResponse implements DocumentView {
  @ApiProperty({ type: 'integer' })
  id: number;

  @ApiProperty()
  doc_name: string;

  @ApiProperty({ enum: ['TEXT', 'DOCUMENT', 'URL'] })
  doc_type: string;

  @ApiProperty({ description: 'The text of a TEXT document; empty for a file.' })
  content: string;

  @ApiProperty()
  doc_source: string;

  @ApiProperty()
  space_id: string;

  @ApiProperty({ description: 'The space name.' })
  space: string;

  @ApiProperty({ description: 'The parsed format (text, markdown, pdf, docx, html, csv).' })
  format: string;

  @ApiProperty({ enum: ['TODO', 'RUNNING', 'FINISHED', 'FAILED'] })
  status: string;

  @ApiProperty({ description: 'Why it failed, or how it was indexed.' })
  result: string;

  @ApiProperty({ type: 'integer', description: 'Chunks indexed.' })
  chunk_size: number;

  @ApiProperty({ type: String, nullable: true })
  last_sync: string | null;

  @ApiProperty()
  gmt_created: string;

  @ApiProperty()
  gmt_modified: string;
}

/** DB-GPT's paging fields of the knowledge lists. */
class KnowledgePageFields {
  @ApiProperty({ type: 'integer', minimum: 0 })
  total_count: number;

  @ApiProperty({ type: 'integer', minimum: 0 })
  total_pages: number;

  @ApiProperty({ type: 'integer', minimum: 1 })
  page: number;

  @ApiProperty({ type: 'integer', minimum: 1 })
  page_size: number;
}

export class SpacePageResponse extends KnowledgePageFields implements Page<SpaceView> {
  @ApiProperty({ type: [SpaceResponse] })
  items: SpaceView[];
}

export class DocumentPageResponse extends KnowledgePageFields implements Page<DocumentView> {
  @ApiProperty({ type: [DocumentResponse] })
  items: DocumentView[];
}

/** One ranked chunk of a retrieval. */
export class RetrievedChunkResponse implements RetrievedChunk {
  @ApiProperty()
  chunk_id: string;

  @ApiProperty({ type: 'integer' })
  doc_id: number;

  @ApiProperty()
  doc_name: string;

  @ApiProperty({ type: 'integer', description: 'The chunk’s place in its document, from 0.' })
  position: number;

  @ApiProperty()
  content: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'What the chunker kept: the Markdown headers above it, the file’s page, and the like.',
  })
  metadata: Record<string, unknown>;

  @ApiProperty({ description: 'Fused rank score; higher is better.' })
  score: number;
}
