import { ApiProperty } from '@nestjs/swagger';
import type { ModelListView, ModelView } from '../models.types';

/** A configured model, in OpenAI's model shape plus the upstream name and the default flag. */
export class ModelResponse implements ModelView {
  @ApiProperty({ example: 'chatgpt_proxyllm', description: 'The name clients send as `model`.' })
  id: string;

  @ApiProperty({ enum: ['model'] })
  object: 'model';

  @ApiProperty({ type: 'integer', description: 'When the server started (Unix seconds).' })
  created: number;

  @ApiProperty({ example: 'openai', description: 'The provider.' })
  owned_by: string;

  @ApiProperty({ example: 'gpt-4o-mini', description: 'The model name sent upstream.' })
  upstream_model: string;

  @ApiProperty({ description: 'The default model (the one the `default` llm_strategy uses).' })
  default: boolean;
}

/** OpenAI's list shape. */
export class ModelListResponse implements ModelListView {
  @ApiProperty({ enum: ['list'] })
  object: 'list';

  @ApiProperty({ type: [ModelResponse] })
  data: ModelView[];
}
