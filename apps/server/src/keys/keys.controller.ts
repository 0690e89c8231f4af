import { Body, Controller, Delete, Get, Param, Post, Query, Req, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditInterceptor } from '../audit/audit.interceptor';
import { principalOf } from '../auth/principal';
import { ApiErrors, ApiResult } from '../common/api-docs';
import { pageOffset, PageQuery, pageTotals } from '../common/page.query';
import { ok, Result } from '../common/result';
import { CreateKeyDto } from './dto/create-key.dto';
import { CreatedKeyResponse, KeyListResponse, KeyResponse } from './dto/key.response';
import type { CreatedKeyView, KeyView } from './key.types';
import { KeysService } from './keys.service';

/** Keys as data (admin scope): create (the secret is shown once), list, revoke. */
@ApiTags('keys')
@Controller('v2/serve/keys')
@UseInterceptors(AuditInterceptor)
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create a key; the answer is the only place its secret (`key`) is ever shown' })
  @ApiResult(CreatedKeyResponse, { status: 201 })
  @ApiErrors(400, 403)
  async create(@Body() body: CreateKeyDto, @Req() req: Request): Promise<Result<CreatedKeyView>> {
    const created = await this.keys.create(
      {
        name: body.name,
        scopes: body.scopes,
        appCodes: body.app_codes ?? null,
        expiresAt: body.expires_at ? new Date(body.expires_at) : null,
        rateLimitPerMinute: body.rate_limit_per_minute ?? null,
        maxConcurrentRuns: body.max_concurrent_runs ?? null,
      },
      principalOf(req).keyId,
    );
    return ok(created);
  }

  @Get()
  @ApiOperation({ summary: 'List keys, newest first (never their secrets)' })
  @ApiResult(KeyListResponse)
  @ApiErrors(400, 403)
  async list(@Query() query: PageQuery) {
    const { items, total } = await this.keys.list(query.page_size, pageOffset(query));
    return ok({ items, ...pageTotals(query, total) });
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a key, at once on every replica (within a second)' })
  @ApiResult(KeyResponse)
  @ApiErrors(403, 404)
  async revoke(@Param('id') id: string): Promise<Result<KeyView>> {
    return ok(await this.keys.revoke(id));
  }
}
