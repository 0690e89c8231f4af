import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiErrors, ApiResult } from '../common/api-docs';
import { pageOffset, PageQuery, pageTotals } from '../common/page.query';
import { ok, Result } from '../common/result';
import { AuditListView, AuditRepository } from './audit.repository';
import { AuditListResponse } from './dto/audit.response';

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
  @ApiResult(AuditListResponse)
  @ApiErrors(400, 403)
  async list(@Query() query: AuditQuery): Promise<Result<AuditListView>> {
    const { items, total } = await this.audit.page(query.key_id, query.page_size, pageOffset(query));
    return ok({ items, ...pageTotals(query, total) });
  }
}
