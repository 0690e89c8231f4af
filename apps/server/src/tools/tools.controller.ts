import { Controller, Get } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { ApiErrors, resultSchema } from '../common/api-docs';
import { ok, Result } from '../common/result';
import { ToolsService } from './tools.service';
import { ToolServerView, ToolView } from './tools.types';

/** The MCP tool servers declared in the tools file, for building apps. */
@ApiTags('tools')
@ApiExtraModels(ToolServerView, ToolView)
@Controller('v2/serve/tools')
export class ToolsController {
  constructor(private readonly tools: ToolsService) {}

  @Get()
  @ApiOperation({ summary: 'List the declared tool servers, their state and their tools' })
  @ApiOkResponse({ schema: resultSchema({ type: 'array', items: { $ref: getSchemaPath(ToolServerView) } }) })
  @ApiErrors()
  async list(): Promise<Result<ToolServerView[]>> {
    return ok(await this.tools.servers());
  }
}
