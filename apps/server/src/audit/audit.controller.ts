import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiErrors, resultSchema } from '../common/api-docs';
import { pageOffset, PageQuery, pageTotals } from '../common/page.query';
import { ok } from '../common/result';
import { AuditRepository } from './audit.repository';

export class AuditQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Only the changes made with this key (`env:1` for the first of API_KEYS).' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  key_id?: string;
}

/** The admin changes, newest first (admin scope). */
@ApiTags('audit')
@Controller('v2/serve/audit')
export class AuditController {
  constructor(private readonly audit: AuditRepository) {}

  @Get()
  @ApiOperation({ summary: 'Admin changes (who, what, on which target, when), newest first, paged' })
  @ApiOkResponse({
    schema: resultSchema({
      type: 'object',
      properties: {
        items: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              at: { type: 'string', format: 'date-time' },
              key_id: { type: 'string' },
              action: { type: 'string', example: 'POST /api/v2/serve/apps' },
              target: { type: 'string', nullable: true, example: 'app_code=awel-helper' },
            },
          },
        },
        total_count: { type: 'integer' },
        total_page: { type: 'integer' },
        current_page: { type: 'integer' },
      },
    }),
  })
  @ApiErrors(400, 403)
  async list(@Query() query: AuditQuery) {
    const { items, total } = await this.audit.page(query.key_id, query.page_size, pageOffset(query));
    return ok({ items, ...pageTotals(query, total) });
  }
}
