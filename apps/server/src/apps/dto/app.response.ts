import { ApiProperty } from '@nestjs/swagger';
import { LLM_STRATEGY_TYPES, TEAM_MODES } from '@ensemble/agents';
import { PageTotalsResponse } from '../../common/page.response';
import type { AppDetailView, AppListView, AppResourceJson, AppView } from '../app.types';

export class AppResourceResponse implements AppResourceJson {
  @ApiProperty({ example: 'knowledge' })
  type: string;

  @ApiProperty()
  name: string;

  @ApiProperty()
  value: string;

  @ApiProperty()
  is_dynamic: boolean;
}

export class AppDetailResponse implements AppDetailView {
  @ApiProperty()
  app_code: string;

  @ApiProperty()
  app_name: string;

  @ApiProperty({ example: 'Summarizer' })
  agent_name: string;

  @ApiProperty({ type: String, nullable: true })
  node_id: string | null;

  @ApiProperty({ type: [AppResourceResponse] })
  resources: AppResourceJson[];

  @ApiProperty({ type: String, nullable: true })
  prompt_template: string | null;

  @ApiProperty({ enum: LLM_STRATEGY_TYPES })
  llm_strategy: string;

  @ApiProperty({ type: String, nullable: true, description: 'The priority list, comma-separated.' })
  llm_strategy_value: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

/** An app as the Apps API sends it: snake_case fields, details included. */
export class AppResponse implements AppView {
  @ApiProperty()
  app_code: string;

  @ApiProperty()
  app_name: string;

  @ApiProperty()
  app_describe: string;

  @ApiProperty({ enum: TEAM_MODES })
  team_mode: string;

  @ApiProperty({ example: 'en' })
  language: string;

  @ApiProperty({
    // `nullable` inside a branch: beside `anyOf` it would make the generator add `type: object` to the whole.
    anyOf: [
      { type: 'string', nullable: true },
      { type: 'object', additionalProperties: true },
    ],
    description: 'As saved: a string, or an object (e.g. `{ "chat_scene": "chat_normal" }` for native_app).',
  })
  team_context: string | Record<string, unknown> | null;

  @ApiProperty({ type: String, nullable: true })
  user_code: string | null;

  @ApiProperty({ type: String, nullable: true })
  sys_code: string | null;

  @ApiProperty({ enum: ['true', 'false'], description: 'Whether the asking user_code collected the app.' })
  is_collected: 'true' | 'false';

  @ApiProperty({ type: String, nullable: true })
  icon: string | null;

  @ApiProperty({ enum: ['true', 'false'] })
  published: 'true' | 'false';

  @ApiProperty({ type: 'array', items: {} })
  param_need: unknown[];

  @ApiProperty({ type: 'array', items: {} })
  recommend_questions: unknown[];

  @ApiProperty({ type: [String] })
  admins: string[];

  @ApiProperty({ type: 'integer', minimum: 0 })
  keep_start_rounds: number;

  @ApiProperty({ type: 'integer', minimum: 0 })
  keep_end_rounds: number;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ format: 'date-time' })
  updated_at: string;

  @ApiProperty({ type: [AppDetailResponse] })
  details: AppDetailView[];
}

export class AppListResponse extends PageTotalsResponse implements AppListView {
  @ApiProperty({ type: [AppResponse] })
  app_list: AppView[];
}
