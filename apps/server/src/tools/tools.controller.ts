import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiResult } from '../common/api-docs';
import { ok, Result } from '../common/result';
import { ToolServerResponse } from './dto/tool.response';
import { ToolsService } from './tools.service';
import type { ToolServerView } from './tools.types';

/** The MCP tool servers declared in the tools file, for building apps. */
@ApiTags('tools')
@Controller('v2/serve/tools')
export class ToolsController {
  constructor(private readonly tools: ToolsService) {}

  @Get()
  @ApiOperation({ summary: 'List the declared tool servers, their state and their tools' })
  @ApiResult(ToolServerResponse, { isArray: true })
  @ApiErrors()
  async list(): Promise<Result<ToolServerView[]>> {
    return ok(await this.tools.servers());
  }
}
