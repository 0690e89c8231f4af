import { Body, Controller, Delete, Get, HttpCode, Logger, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ModelRegistry } from '@ensemble/llm';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequireScope } from '../auth/scope.decorator';
import { ApiErrors, resultSchema } from '../common/api-docs';
import { ok, Result } from '../common/result';
import { AppsService } from './apps.service';
import type { AppListView, AppView } from './app.types';
import { CreateAppDto, UpdateAppDto } from './dto/app.dto';
import { CollectQuery, ListAppsQuery, UserQuery } from './dto/list-apps.query';
import { unknownModelWarnings, warningHeader } from './model-warnings';

const APP = { type: 'object', description: 'App (snake_case fields, details included)' };
const MODEL_WARNING = {
  Warning: {
    description: 'Present when a detail names models this server does not serve: one `299 ensemble "…"` per detail.',
    schema: { type: 'string' },
  },
};

/** DB-GPT's v2 apps admin API. */
@ApiTags('apps')
@Controller('v2/serve/apps')
export class AppsController {
  private readonly logger = new Logger('Apps');

  constructor(
    private readonly apps: AppsService,
    private readonly models: ModelRegistry,
  ) {}

  /** Tells the admin (a `Warning` header and a log line) about models the saved app names but this server lacks. */
  private warnAboutModels(app: AppView, res: Response): void {
    const warnings = unknownModelWarnings(app, (name) => this.models.has(name));
    if (warnings.length === 0) return;
    res.setHeader('Warning', warnings.map(warningHeader));
    for (const warning of warnings) this.logger.warn(`App ${app.app_code}: ${warning}`);
  }

  @Get()
  @RequireScope('chat')
  @ApiOperation({ summary: 'List apps (paged, filtered)' })
  @ApiOkResponse({
    schema: resultSchema({
      type: 'object',
      properties: {
        app_list: { type: 'array', items: APP },
        total_count: { type: 'integer' },
        total_page: { type: 'integer' },
        current_page: { type: 'integer' },
      },
    }),
  })
  @ApiErrors(400)
  async list(@Query() query: ListAppsQuery): Promise<Result<AppListView>> {
    return ok(await this.apps.list(query));
  }

  @Get(':app_code')
  @RequireScope('chat')
  @ApiOperation({ summary: 'Get one app' })
  @ApiOkResponse({ schema: resultSchema(APP) })
  @ApiErrors(404)
  async get(@Param('app_code') appCode: string, @Query() query: UserQuery): Promise<Result<AppView>> {
    return ok(await this.apps.get(appCode, query.user_code));
  }

  @Post()
  @ApiOperation({ summary: 'Create an app with its details (one transaction); 201' })
  @ApiCreatedResponse({ schema: resultSchema(APP), headers: MODEL_WARNING })
  @ApiErrors(400, 409, 413)
  async create(@Body() body: CreateAppDto, @Res({ passthrough: true }) res: Response): Promise<Result<AppView>> {
    const app = await this.apps.create(body);
    this.warnAboutModels(app, res);
    return ok(app);
  }

  @Put(':app_code')
  @ApiOperation({ summary: 'Update an app; `details`, when given, replaces all details (one transaction)' })
  @ApiOkResponse({ schema: resultSchema(APP), headers: MODEL_WARNING })
  @ApiErrors(400, 404, 409, 413)
  async update(
    @Param('app_code') appCode: string,
    @Body() body: UpdateAppDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Result<AppView>> {
    const app = await this.apps.update(appCode, body);
    this.warnAboutModels(app, res);
    return ok(app);
  }

  @Delete(':app_code')
  @ApiOperation({ summary: 'Delete an app, its details and collections' })
  @ApiOkResponse({ schema: resultSchema({ type: 'array', maxItems: 0 }) })
  @ApiErrors(404)
  async remove(@Param('app_code') appCode: string): Promise<Result<never[]>> {
    await this.apps.remove(appCode);
    return ok([]);
  }

  @Post(':app_code/collect')
  @HttpCode(200)
  @ApiOperation({ summary: "Add the app to a user's collection (idempotent)" })
  @ApiOkResponse({ schema: resultSchema({ type: 'boolean' }) })
  @ApiErrors(400, 404)
  async collect(@Param('app_code') appCode: string, @Query() query: CollectQuery): Promise<Result<boolean>> {
    await this.apps.collect(appCode, query.user_code);
    return ok(true);
  }

  @Delete(':app_code/collect')
  @ApiOperation({ summary: "Remove the app from a user's collection (idempotent)" })
  @ApiOkResponse({ schema: resultSchema({ type: 'boolean' }) })
  @ApiErrors(400, 404)
  async uncollect(@Param('app_code') appCode: string, @Query() query: CollectQuery): Promise<Result<boolean>> {
    await this.apps.uncollect(appCode, query.user_code);
    return ok(true);
  }
}
