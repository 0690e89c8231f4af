import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Logger,
  Param,
  Post,
  Put,
  Query,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import { ModelRegistry } from '@ensemble/llm';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuditInterceptor } from '../audit/audit.interceptor';
import { RequireScope } from '../auth/scope.decorator';
import { ApiErrors, ApiResult } from '../common/api-docs';
import { ok, Result } from '../common/result';
import { AppsService } from './apps.service';
import type { AppListView, AppView } from './app.types';
import { CreateAppDto, UpdateAppDto } from './dto/app.dto';
import { AppListResponse, AppResponse } from './dto/app.response';
import { CollectQuery, ListAppsQuery, UserQuery } from './dto/list-apps.query';
import { unknownModelWarnings, warningHeader } from './model-warnings';

const MODEL_WARNING = {
  Warning: {
    description: 'Present when a detail names models this server does not serve: one `299 ensemble "…"` per detail.',
    schema: { type: 'string' },
  },
};

/** DB-GPT's v2 apps admin API. */
@ApiTags('apps')
@Controller('v2/serve/apps')
@UseInterceptors(AuditInterceptor)
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
  @ApiResult(AppListResponse)
  @ApiErrors(400)
  async list(@Query() query: ListAppsQuery): Promise<Result<AppListView>> {
    return ok(await this.apps.list(query));
  }

  @Get(':app_code')
  @RequireScope('chat')
  @ApiOperation({ summary: 'Get one app' })
  @ApiResult(AppResponse)
  @ApiErrors(404)
  async get(@Param('app_code') appCode: string, @Query() query: UserQuery): Promise<Result<AppView>> {
    return ok(await this.apps.get(appCode, query.user_code));
  }

  @Post()
  @ApiOperation({ summary: 'Create an app with its details (one transaction); 201' })
  @ApiResult(AppResponse, { status: 201, headers: MODEL_WARNING })
  @ApiErrors(400, 409, 413)
  async create(@Body() body: CreateAppDto, @Res({ passthrough: true }) res: Response): Promise<Result<AppView>> {
    const app = await this.apps.create(body);
    this.warnAboutModels(app, res);
    return ok(app);
  }

  @Put(':app_code')
  @ApiOperation({ summary: 'Update an app; `details`, when given, replaces all details (one transaction)' })
  @ApiResult(AppResponse, { headers: MODEL_WARNING })
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
  @ApiResult([])
  @ApiErrors(404)
  async remove(@Param('app_code') appCode: string): Promise<Result<never[]>> {
    await this.apps.remove(appCode);
    return ok([]);
  }

  @Post(':app_code/collect')
  @HttpCode(200)
  @ApiOperation({ summary: "Add the app to a user's collection (idempotent)" })
  @ApiResult(Boolean)
  @ApiErrors(400, 404)
  async collect(@Param('app_code') appCode: string, @Query() query: CollectQuery): Promise<Result<boolean>> {
    await this.apps.collect(appCode, query.user_code);
    return ok(true);
  }

  @Delete(':app_code/collect')
  @ApiOperation({ summary: "Remove the app from a user's collection (idempotent)" })
  @ApiResult(Boolean)
  @ApiErrors(400, 404)
  async uncollect(@Param('app_code') appCode: string, @Query() query: CollectQuery): Promise<Result<boolean>> {
    await this.apps.uncollect(appCode, query.user_code);
    return ok(true);
  }
}
