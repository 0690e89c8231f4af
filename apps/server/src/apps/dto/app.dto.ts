import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { LLM_STRATEGY_TYPES, TEAM_MODES } from '@ensemble/agents';
import { IsKnownRole, IsStringOrObject, IsStringOrStringArray, IsStringArrayOrObjectArray } from './validators';

/** `"true"`/`"false"` strings (DB-GPT sends these) become booleans; anything else is left to fail. */
export const toBoolean = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

export class AppResourceDto {
  @ApiProperty({ example: 'database' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  type: string;

  @ApiProperty({ example: 'sales_db' })
  @IsString()
  @MaxLength(255)
  name: string;

  @ApiProperty({ description: 'Always a string on the wire (JSON-encode structured values).' })
  @IsString()
  @MaxLength(65536)
  value: string;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  is_dynamic?: boolean;
}

export class AppDetailDto {
  @ApiPropertyOptional({ description: 'Ignored on input: the app it belongs to.' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  app_code?: string;

  @ApiPropertyOptional({ description: 'Ignored on input: the app it belongs to.' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  app_name?: string;

  @ApiProperty({ example: 'Summarizer', description: 'An agent role known to the server.' })
  @IsString()
  @IsKnownRole()
  agent_name: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  node_id?: string | null;

  @ApiPropertyOptional({ type: [AppResourceDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => AppResourceDto)
  resources?: AppResourceDto[];

  @ApiPropertyOptional({ description: "Replaces the role's system prompt when set." })
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  prompt_template?: string | null;

  @ApiPropertyOptional({ enum: LLM_STRATEGY_TYPES, default: 'default' })
  @IsOptional()
  @IsIn(LLM_STRATEGY_TYPES, {
    message: `llm_strategy must be one of: ${LLM_STRATEGY_TYPES.join(', ')}`,
  })
  llm_strategy?: string;

  @ApiPropertyOptional({
    description: 'Priority list of model names: a comma-separated string (or a JSON array, stored the same way).',
    example: 'chatgpt_proxyllm,gpt-4o',
  })
  @IsOptional()
  @IsStringOrStringArray({ maxLength: 4096 })
  llm_strategy_value?: string | string[] | null;

  @ApiPropertyOptional({ description: 'Output only; ignored on input.' })
  @IsOptional()
  @IsString()
  created_at?: string;

  @ApiPropertyOptional({ description: 'Output only; ignored on input.' })
  @IsOptional()
  @IsString()
  updated_at?: string;
}

export class CreateAppDto {
  @ApiPropertyOptional({ description: 'Generated (UUID) when absent.' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  @Matches(/^[A-Za-z0-9._:-]+$/, { message: 'app_code may contain only letters, digits, ".", "_", ":" and "-"' })
  app_code?: string;

  @ApiProperty({ example: 'awel-helper' })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  app_name: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  app_describe?: string;

  @ApiProperty({ enum: TEAM_MODES })
  @IsIn(TEAM_MODES, { message: `team_mode must be one of: ${TEAM_MODES.join(', ')}` })
  team_mode: string;

  @ApiPropertyOptional({ default: 'en' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(16)
  language?: string;

  @ApiPropertyOptional({ description: 'A string or an object (e.g. `{"chat_scene": "chat_normal"}` for native apps).' })
  @IsOptional()
  @IsStringOrObject({ maxLength: 65536 })
  team_context?: string | Record<string, unknown> | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  user_code?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  sys_code?: string | null;

  @ApiPropertyOptional({ description: 'Output only (per user); ignored on input (a boolean or "true"/"false").' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'boolean' ? String(value) : value))
  @IsIn(['true', 'false'])
  is_collected?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  icon?: string | null;

  @ApiPropertyOptional({ description: 'A boolean or "true"/"false".', default: false })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  published?: boolean;

  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsStringArrayOrObjectArray()
  param_need?: unknown[];

  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsStringArrayOrObjectArray()
  recommend_questions?: unknown[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(255, { each: true })
  admins?: string[];

  @ApiPropertyOptional({ default: 0, description: 'Earliest rounds of history kept in context.' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  keep_start_rounds?: number;

  @ApiPropertyOptional({ default: 0, description: 'Latest rounds of history kept in context.' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  keep_end_rounds?: number;

  @ApiPropertyOptional({ description: 'Output only; ignored on input.' })
  @IsOptional()
  @IsString()
  created_at?: string;

  @ApiPropertyOptional({ description: 'Output only; ignored on input.' })
  @IsOptional()
  @IsString()
  updated_at?: string;

  @ApiPropertyOptional({ description: "DB-GPT's display field (from its user service); accepted and ignored." })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  user_name?: string | null;

  @ApiPropertyOptional({ description: "DB-GPT's display field; accepted and ignored." })
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  user_icon?: string | null;

  @ApiPropertyOptional({ description: "DB-GPT's usage counter; accepted and ignored." })
  @IsOptional()
  @IsInt()
  hot_value?: number | null;

  @ApiPropertyOptional({ description: "DB-GPT's display field; accepted and ignored." })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  owner_name?: string | null;

  @ApiPropertyOptional({ description: "DB-GPT's display field; accepted and ignored." })
  @IsOptional()
  @IsString()
  @MaxLength(65536)
  owner_avatar_url?: string | null;

  @ApiPropertyOptional({ type: [AppDetailDto], description: 'The agents, in order; replaced as a whole.' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => AppDetailDto)
  details?: AppDetailDto[];
}

/** PUT: fields left out keep their value; `details`, when given, replaces all details. */
export class UpdateAppDto extends PartialType(CreateAppDto) {}
