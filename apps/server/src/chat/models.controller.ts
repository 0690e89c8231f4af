import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ModelRegistry } from '@ensemble/llm';
import { RequireScope } from '../auth/scope.decorator';
import { ApiErrors } from '../common/api-docs';
import { ModelListResponse } from './dto/model.response';
import type { ModelListView } from './models.types';

const STARTED = Math.floor(Date.now() / 1000);

/** The configured models, in OpenAI's list shape. */
@ApiTags('chat')
@Controller('v2/models')
export class ModelsController {
  constructor(private readonly registry: ModelRegistry) {}

  @Get()
  @RequireScope('chat')
  @ApiOperation({ summary: 'List the configured models (names clients send as `model`)' })
  @ApiOkResponse({ type: ModelListResponse })
  @ApiErrors()
  list(): ModelListView {
    return {
      object: 'list',
      data: this.registry.list().map((m) => ({
        id: m.name,
        object: 'model',
        created: STARTED,
        owned_by: m.provider,
        upstream_model: m.model,
        default: m.isDefault,
      })),
    };
  }
}
