import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  Post,
  Put,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditInterceptor } from '../audit/audit.interceptor';
import { ApiError } from '../common/api-error';
import { ApiErrors, ApiResult } from '../common/api-docs';
import { ok, Result } from '../common/result';
import { DatasourcesService, DatasourceTypeView, DatasourceView } from './datasources.service';
import { DatasourceDto, ListDatasourcesQuery } from './dto/datasource.dto';
import { DatasourceResponse, DatasourceTypeResponse } from './dto/datasource.response';

const idPipe = new ParseIntPipe({
  exceptionFactory: () => ApiError.badRequest('validation_error', 'id must be an integer.', 'id'),
});

/** DB-GPT's v2 datasources admin API. */
@ApiTags('datasources')
@Controller('v2/serve')
@UseInterceptors(AuditInterceptor)
export class DatasourcesController {
  constructor(private readonly datasources: DatasourcesService) {}

  @Get('datasources')
  @ApiOperation({ summary: 'List datasources (optionally of one db_type)' })
  @ApiResult(DatasourceResponse, { isArray: true })
  @ApiErrors(400)
  async list(@Query() query: ListDatasourcesQuery): Promise<Result<DatasourceView[]>> {
    return ok(await this.datasources.list(query.db_type));
  }

  @Post('datasources')
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a datasource (the connection is tested first)' })
  @ApiResult(DatasourceResponse)
  @ApiErrors(400, 409)
  async create(@Body() body: DatasourceDto): Promise<Result<DatasourceView>> {
    return ok(await this.datasources.create(body));
  }

  @Put('datasources')
  @ApiOperation({ summary: 'Update the datasource named by id (or db_name); the password mask keeps the password' })
  @ApiResult(DatasourceResponse)
  @ApiErrors(400, 404, 409)
  async update(@Body() body: DatasourceDto): Promise<Result<DatasourceView>> {
    return ok(await this.datasources.update(body));
  }

  @Post('datasources/test-connection')
  @HttpCode(200)
  @ApiOperation({ summary: 'Test a connection (400 datasource_unreachable with the reason when it fails)' })
  @ApiResult(Boolean)
  @ApiErrors(400)
  async test(@Body() body: DatasourceDto): Promise<Result<boolean>> {
    return ok(await this.datasources.testConnection(body));
  }

  @Get('datasource-types')
  @ApiOperation({ summary: 'The datasource types served' })
  @ApiResult(DatasourceTypeResponse, { isArray: true })
  @ApiErrors()
  types(): Result<readonly DatasourceTypeView[]> {
    return ok(this.datasources.types());
  }

  @Get('datasources/:id')
  @ApiOperation({ summary: 'Get one datasource' })
  @ApiResult(DatasourceResponse)
  @ApiErrors(400, 404)
  async get(@Param('id', idPipe) id: number): Promise<Result<DatasourceView>> {
    return ok(await this.datasources.get(id));
  }

  @Delete('datasources/:id')
  @ApiOperation({ summary: 'Delete a datasource; answers the deleted datasource' })
  @ApiResult(DatasourceResponse)
  @ApiErrors(400, 404)
  async remove(@Param('id', idPipe) id: number): Promise<Result<DatasourceView>> {
    return ok(await this.datasources.remove(id));
  }

  @Post('datasources/:id/refresh')
  @HttpCode(200)
  @ApiOperation({ summary: "Re-read the datasource's schema" })
  @ApiResult(Boolean)
  @ApiErrors(400, 404)
  async refresh(@Param('id', idPipe) id: number): Promise<Result<boolean>> {
    return ok(await this.datasources.refresh(id));
  }
}
