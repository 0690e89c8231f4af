import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { PageQuery } from '../../common/page.query';
import { CHUNK_STRATEGIES } from '../chunking';

/** Numbers sent as JSON numbers or strings, kept as a string of digits. */
const toIdString = ({ value }: { value: unknown }) => (typeof value === 'number' ? String(value) : value);
/** A form or query value: empty means absent (DB-GPT's client sends unset fields as empty strings). */
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/** DB-GPT's `SpaceModel`, as `create_space` and `update_space` send it (unset fields as null). */
export class SpaceDto {
  @ApiPropertyOptional({ description: 'Space id (update: which space; ignored on create)' })
  @IsOptional()
  @Transform(toIdString)
  @Matches(/^\d{1,9}$/, { message: 'id must be a space id (digits)' })
  id?: string | null;

  @ApiProperty({ description: 'Unique space name (what a `knowledge` resource and `chat_knowledge` name)' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  @Matches(/^[^\s/][^/]*$/, { message: 'name must not start with a space or contain "/"' })
  name?: string | null;

  @ApiPropertyOptional({ description: 'Accepted for compatibility; the index is always Postgres' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  vector_type?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  desc?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  owner?: string | null;

  @ApiPropertyOptional({ description: "DB-GPT's argument context (JSON text), kept as given" })
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  context?: string | null;

  @ApiPropertyOptional({
    description: 'Postgres text search configuration of the space (`simple`, `english`, `german`, …)',
    default: 'simple',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z_]{1,63}$/, { message: 'language must be a Postgres text search configuration name' })
  language?: string | null;

  @ApiPropertyOptional({ description: "DB-GPT's domain type; accepted, not used" })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  domain_type?: string | null;
}

/**
 * `POST /documents` fields, sent as multipart form fields or (DB-GPT's
 * client) as query parameters.
 */
export class DocumentFormDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  id?: string;

  @ApiProperty({ description: 'Name of the document (for DOCUMENT, defaults to the file name)' })
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MaxLength(255)
  doc_name?: string;

  @ApiProperty({ enum: ['TEXT', 'DOCUMENT', 'URL'] })
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  doc_type?: string;

  @ApiPropertyOptional({
    description: 'The text, for doc_type TEXT; the http(s) URL, for doc_type URL (KNOWLEDGE_URL_ALLOWLIST)',
  })
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  content?: string;

  @ApiPropertyOptional({ description: 'Accepted, not used' })
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MaxLength(1024)
  doc_source?: string;

  @ApiProperty({ description: 'Space id' })
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  space_id?: string;

  @ApiPropertyOptional({ type: 'string', format: 'binary', description: 'The file, for doc_type DOCUMENT' })
  @IsOptional()
  doc_file?: unknown;
}

/** DB-GPT's `ChunkParameters`. */
export class ChunkParametersDto {
  @ApiPropertyOptional({ enum: CHUNK_STRATEGIES, default: 'Automatic' })
  @IsOptional()
  @IsIn(CHUNK_STRATEGIES, { message: `chunk_strategy must be one of: ${CHUNK_STRATEGIES.join(', ')}` })
  chunk_strategy?: string | null;

  @ApiPropertyOptional({ description: 'Accepted, not used' })
  @IsOptional()
  @IsString()
  text_splitter?: string | null;

  @ApiPropertyOptional({ description: 'Accepted, not used' })
  @IsOptional()
  @IsString()
  splitter_type?: string | null;

  @ApiPropertyOptional({ default: 512, description: 'Characters' })
  @IsOptional()
  @IsInt()
  @Min(16)
  @Max(100000)
  chunk_size?: number | null;

  @ApiPropertyOptional({ default: 50, description: 'Characters carried over between chunks' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100000)
  chunk_overlap?: number | null;

  @ApiPropertyOptional({ default: '\n' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  separator?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  enable_merge?: boolean | null;
}

/** DB-GPT's `SyncModel` (the body is a list of them). */
export class SyncDto {
  @ApiProperty({ description: 'Document id' })
  @Transform(toIdString)
  @Matches(/^\d{1,9}$/, { message: 'doc_id must be a document id (digits)' })
  doc_id!: string;

  @ApiPropertyOptional({ description: 'Space id (when given, the document must be in it)' })
  @IsOptional()
  @Transform(toIdString)
  @Matches(/^\d{1,9}$/, { message: 'space_id must be a space id (digits)' })
  space_id?: string | null;

  @ApiPropertyOptional({ description: 'Accepted, not used (the embedding model comes from the models file)' })
  @IsOptional()
  @IsString()
  model_name?: string | null;

  @ApiPropertyOptional({ type: ChunkParametersDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ChunkParametersDto)
  chunk_parameters?: ChunkParametersDto | null;
}

export class RetrieveDto {
  @ApiProperty({ description: 'The question' })
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  query!: string;

  @ApiPropertyOptional({ default: 5, minimum: 1, maximum: 100 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  top_k?: number;

  @ApiPropertyOptional({ description: 'Drop chunks scoring below this (fused score)' })
  @IsOptional()
  @IsNumber()
  score_threshold?: number | null;

  @ApiPropertyOptional({ description: 'Accepted (the path names the space)' })
  @IsOptional()
  @Transform(toIdString)
  @IsString()
  space_id?: string | null;
}

export class ListDocumentsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Only the documents of this space' })
  @IsOptional()
  @Matches(/^\d{1,9}$/, { message: 'space_id must be a space id (digits)' })
  space_id?: string;
}
