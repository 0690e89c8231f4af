import { Body, Controller, Delete, Get, Param, Post, Query, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { principalOf } from '../auth/principal';
import { ApiErrors, resultSchema } from '../common/api-docs';
import { pageOffset, PageQuery, pageTotals } from '../common/page.query';
import { ok, Result } from '../common/result';
import { CreateKeyDto } from './dto/create-key.dto';
import type { CreatedKeyView, KeyView } from './key.types';
import { KeysService } from './keys.service';

const KEY_PROPERTIES = {
  id: { type: 'string', format: 'uuid' },
  name: { type: 'string' },
  prefix: { type: 'string', description: 'The first characters of the secret, to recognise it.' },
  scopes: { type: 'array', items: { type: 'string', enum: ['admin', 'chat'] } },
  app_codes: { type: 'array', items: { type: 'string' }, nullable: true },
  created_at: { type: 'string', format: 'date-time' },
  last_used_at: { type: 'string', format: 'date-time', nullable: true },
  expires_at: { type: 'string', format: 'date-time', nullable: true },
  revoked: { type: 'boolean' },
  rate_limit_per_minute: {
    type: 'integer',
    nullable: true,
    description:
      'Requests per minute over all replicas; null: the server default (RATE_LIMIT_PER_MINUTE); 0: unlimited.',
  },
  max_concurrent_runs: {
    type: 'integer',
    nullable: true,
    description:
      'Chat runs in flight at once over all replicas; null: the server default (MAX_CONCURRENT_RUNS_PER_KEY); 0: unlimited.',
  },
};
const KEY = { type: 'object', properties: KEY_PROPERTIES };

/** Keys as data (admin scope): create (the secret is shown once), list, revoke. */
@ApiTags('keys')
@Controller('v2/serve/keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create a key; the answer is the only place its secret (`key`) is ever shown' })
  @ApiCreatedResponse({
    schema: resultSchema({ type: 'object', properties: { ...KEY_PROPERTIES, key: { type: 'string' } } }),
  })
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
  @ApiOkResponse({
    schema: resultSchema({
      type: 'object',
      properties: {
        items: { type: 'array', items: KEY },
        total_count: { type: 'integer' },
        total_page: { type: 'integer' },
        current_page: { type: 'integer' },
      },
    }),
  })
  @ApiErrors(400, 403)
  async list(@Query() query: PageQuery) {
    const { items, total } = await this.keys.list(query.page_size, pageOffset(query));
    return ok({ items, ...pageTotals(query, total) });
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a key, at once on every replica (within a second)' })
  @ApiOkResponse({ schema: resultSchema(KEY) })
  @ApiErrors(403, 404)
  async revoke(@Param('id') id: string): Promise<Result<KeyView>> {
    return ok(await this.keys.revoke(id));
  }
}
