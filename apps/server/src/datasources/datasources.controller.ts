import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Post, Put, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError } from '../common/api-error';
import { ApiErrors, resultSchema } from '../common/api-docs';
import { ok, Result } from '../common/result';
import { DATASOURCE_TYPES, DatasourcesService, DatasourceView } from './datasources.service';
import { DatasourceDto, ListDatasourcesQuery } from './dto/datasource.dto';

const DATASOURCE = {
  type: 'object',
  description: 'Datasource (DB-GPT DatasourceModel fields; db_pwd is "******" when set, "" when not)',
  properties: {
    id: { type: 'integer' },
    db_type: { type: 'string' },
    db_name: { type: 'string' },
    db_path: { type: 'string' },
    db_host: { type: 'string' },
    db_port: { type: 'integer' },
    db_user: { type: 'string' },
    db_pwd: { type: 'string' },
    comment: { type: 'string' },
    type: { type: 'string' },
    description: { type: 'string' },
    params: { type: 'object', additionalProperties: true },
    gmt_created: { type: 'string', format: 'date-time' },
    gmt_modified: { type: 'string', format: 'date-time' },
  },
};

const idPipe = new ParseIntPipe({
  exceptionFactory: () => ApiError.badRequest('validation_error', 'id must be an integer.', 'id'),
});

/** DB-GPT's v2 datasources admin API. */
@ApiTags('datasources')
@Controller('v2/serve')
export class DatasourcesController {
  constructor(private readonly datasources: DatasourcesService) {}

  @Get('datasources')
  @ApiOperation({ summary: 'List datasources (optionally of one db_type)' })
  @ApiOkResponse({ schema: resultSchema({ type: 'array', items: DATASOURCE }) })
  async list(@Query() query: ListDatasourcesQuery): Promise<Result<DatasourceView[]>> {
    return ok(await this.datasources.list(query.db_type));
  }

  @Post('datasources')
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a datasource (the connection is tested first)' })
  @ApiOkResponse({ schema: resultSchema(DATASOURCE) })
  @ApiErrors(400, 409)
  async create(@Body() body: DatasourceDto): Promise<Result<DatasourceView>> {
    return ok(await this.datasources.create(body));
  }

  @Put('datasources')
  @ApiOperation({ summary: 'Update the datasource named by id (or db_name); the password mask keeps the password' })
  @ApiOkResponse({ schema: resultSchema(DATASOURCE) })
  @ApiErrors(400, 404, 409)
  async update(@Body() body: DatasourceDto): Promise<Result<DatasourceView>> {
    return ok(await this.datasources.update(body));
  }

  @Post('datasources/test-connection')
  @HttpCode(200)
  @ApiOperation({ summary: 'Test a connection (400 datasource_unreachable with the reason when it fails)' })
  @ApiOkResponse({ schema: resultSchema({ type: 'boolean' }) })
  @ApiErrors(400)
  async test(@Body() body: DatasourceDto): Promise<Result<boolean>> {
    return ok(await this.datasources.testConnection(body));
  }

  @Get('datasource-types')
  @ApiOperation({ summary: 'The datasource types served' })
  @ApiOkResponse({ schema: resultSchema({ type: 'array', items: { type: 'object' } }) })
  types(): Result<typeof DATASOURCE_TYPES> {
    return ok(this.datasources.types());
  }

  @Get('datasources/:id')
  @ApiOperation({ summary: 'Get one datasource' })
  @ApiOkResponse({ schema: resultSchema(DATASOURCE) })
  @ApiErrors(400, 404)
  async get(@Param('id', idPipe) id: number): Promise<Result<DatasourceView>> {
    return ok(await this.datasources.get(id));
  }

  @Delete('datasources/:id')
  @ApiOperation({ summary: 'Delete a datasource; answers the deleted datasource' })
  @ApiOkResponse({ schema: resultSchema(DATASOURCE) })
  @ApiErrors(400, 404)
  async remove(@Param('id', idPipe) id: number): Promise<Result<DatasourceView>> {
    return ok(await this.datasources.remove(id));
  }

  @Post('datasources/:id/refresh')
  @HttpCode(200)
  @ApiOperation({ summary: "Re-read the datasource's schema" })
  @ApiOkResponse({ schema: resultSchema({ type: 'boolean' }) })
  @ApiErrors(400, 404)
  async refresh(@Param('id', idPipe) id: number): Promise<Result<boolean>> {
    return ok(await this.datasources.refresh(id));
  }
}
