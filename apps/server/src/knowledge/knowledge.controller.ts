import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseArrayPipe,
  Post,
  Put,
  Query,
  Req,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditInterceptor } from '../audit/audit.interceptor';
import { ApiErrors, ApiResult, resultSchema } from '../common/api-docs';
import { PageQuery } from '../common/page.query';
import { ok, Result } from '../common/result';
import { createValidationPipe } from '../common/validation';
import { DocumentUploadInterceptor } from './document-upload.interceptor';
import { DocumentFormDto, ListDocumentsQuery, RetrieveDto, SpaceDto, SyncDto } from './dto/knowledge.dto';
import {
  DocumentPageResponse,
  DocumentResponse,
  RetrievedChunkResponse,
  SpacePageResponse,
  SpaceResponse,
} from './dto/knowledge.response';
import { KnowledgeService, UploadedDocument } from './knowledge.service';
import type { DocumentView, Page, RetrievedChunk, SpaceView } from './knowledge.types';

/** The sync body: a list of SyncModel, checked by the same rules as every other body. */
const syncList = new ParseArrayPipe({
  items: SyncDto,
  whitelist: true,
  forbidNonWhitelisted: true,
  exceptionFactory: createValidationPipe()['exceptionFactory'],
});

/** DB-GPT's v2 knowledge API: spaces, documents, sync and retrieval. */
@ApiTags('knowledge')
@Controller('v2/serve/knowledge')
@UseInterceptors(AuditInterceptor)
export class KnowledgeController {
  constructor(private readonly knowledge: KnowledgeService) {}

  @Post('spaces')
  @ApiOperation({ summary: 'Create a knowledge space; 201' })
  @ApiResult(SpaceResponse, { status: 201 })
  @ApiErrors(400, 409)
  async createSpace(@Body() body: SpaceDto): Promise<Result<SpaceView>> {
    return ok(await this.knowledge.createSpace(body));
  }

  @Put('spaces')
  @ApiOperation({ summary: 'Update the space the body names by `id`' })
  @ApiResult(SpaceResponse)
  @ApiErrors(400, 404, 409)
  async updateSpace(@Body() body: SpaceDto): Promise<Result<SpaceView>> {
    return ok(await this.knowledge.updateSpace(body));
  }

  @Get('spaces')
  @ApiOperation({ summary: 'List spaces (paged)' })
  @ApiResult(SpacePageResponse)
  @ApiErrors(400)
  async listSpaces(@Query() query: PageQuery): Promise<Result<Page<SpaceView>>> {
    return ok(await this.knowledge.listSpaces(query.page, query.page_size));
  }

  @Get('spaces/:id')
  @ApiOperation({ summary: 'Get one space' })
  @ApiResult(SpaceResponse)
  @ApiErrors(404)
  async getSpace(@Param('id') id: string): Promise<Result<SpaceView>> {
    return ok(await this.knowledge.getSpace(id));
  }

  @Delete('spaces/:id')
  @ApiOperation({ summary: 'Delete a space with its documents and chunks (one transaction)' })
  @ApiResult(SpaceResponse)
  @ApiErrors(404)
  async deleteSpace(@Param('id') id: string): Promise<Result<SpaceView>> {
    return ok(await this.knowledge.deleteSpace(id));
  }

  @Post('spaces/:id/retrieve')
  @HttpCode(200)
  @ApiOperation({ summary: 'The best chunks of the space for a query (full-text + trigram, fused by rank)' })
  @ApiResult(RetrievedChunkResponse, { isArray: true })
  @ApiErrors(400, 404)
  async retrieve(@Param('id') id: string, @Body() body: RetrieveDto): Promise<Result<RetrievedChunk[]>> {
    return ok(await this.knowledge.retrieveInSpace(id, body));
  }

  @Post('documents')
  @UseInterceptors(DocumentUploadInterceptor)
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: DocumentFormDto })
  @ApiOperation({
    summary:
      'Add a document: TEXT (content), DOCUMENT (doc_file: text, Markdown, HTML, CSV, Word .docx, PDF) or URL (content: an http(s) URL of an allowed host); fields as form or query; 201',
  })
  @ApiResult(DocumentResponse, { status: 201 })
  @ApiErrors(400, 404, 413, 415)
  async createDocument(
    @Query() query: DocumentFormDto,
    @Body() body: DocumentFormDto,
    @Req() req: Request & { file?: UploadedDocument },
  ): Promise<Result<DocumentView>> {
    return ok(await this.knowledge.createDocument({ ...query, ...definedOnly(body) }, req.file));
  }

  @Get('documents')
  @ApiOperation({ summary: 'List documents (paged; `space_id` filters)' })
  @ApiResult(DocumentPageResponse)
  @ApiErrors(400)
  async listDocuments(@Query() query: ListDocumentsQuery): Promise<Result<Page<DocumentView>>> {
    return ok(await this.knowledge.listDocuments(query));
  }

  @Post('documents/sync')
  @HttpCode(200)
  @ApiBody({ type: SyncDto, isArray: true })
  @ApiOperation({
    summary:
      'Chunk and index documents in the background (state RUNNING → FINISHED|FAILED); their ids. 409 when one is RUNNING',
  })
  @ApiOkResponse({ schema: resultSchema({ type: 'array', items: { type: 'integer' } }) })
  @ApiErrors(400, 404, 409)
  async sync(@Body(syncList) body: SyncDto[]): Promise<Result<number[]>> {
    return ok(await this.knowledge.sync(body));
  }

  @Get('documents/:id')
  @ApiOperation({ summary: 'Get one document with its indexing state' })
  @ApiResult(DocumentResponse)
  @ApiErrors(404)
  async getDocument(@Param('id') id: string): Promise<Result<DocumentView>> {
    return ok(await this.knowledge.getDocument(id));
  }

  @Delete('documents/:id')
  @ApiOperation({ summary: 'Delete a document and its chunks (one transaction)' })
  @ApiResult(DocumentResponse)
  @ApiErrors(404)
  async deleteDocument(@Param('id') id: string): Promise<Result<DocumentView>> {
    return ok(await this.knowledge.deleteDocument(id));
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
