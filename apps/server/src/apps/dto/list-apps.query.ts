import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { PageQuery } from '../../common/page.query';
import { IgnoreUnknownFields } from '../../common/validation';
import { TEAM_MODES } from '@ensemble/agents';

/** Parameters not declared here are ignored, as DB-GPT (FastAPI) ignores them. */
@IgnoreUnknownFields()
export class ListAppsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Owner filter; with `is_collected`, the user whose collection is meant.' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  user_code?: string;

  @ApiPropertyOptional({ description: "DB-GPT's name for `user_code` (used when `user_code` is absent)." })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  user_name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  sys_code?: string;

  @ApiPropertyOptional({ enum: TEAM_MODES })
  @IsOptional()
  @IsIn(TEAM_MODES, { message: `team_mode must be one of: ${TEAM_MODES.join(', ')}` })
  team_mode?: string;

  @ApiPropertyOptional({ enum: ['true', 'false'] })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'published must be "true" or "false"' })
  published?: 'true' | 'false';

  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: 'Collected or not by `user_code`; without a user, by anyone or by no one.',
  })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'is_collected must be "true" or "false"' })
  is_collected?: 'true' | 'false';

  @ApiPropertyOptional({ description: 'Substring of the name, matched literally (case-insensitive).' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  app_name?: string;
}

@IgnoreUnknownFields()
export class UserQuery {
  @ApiPropertyOptional({ description: 'The user whose collection is meant.' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  user_code?: string;
}

@IgnoreUnknownFields()
export class CollectQuery {
  @ApiProperty({ description: 'The user collecting the app.' })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  user_code: string;
}
