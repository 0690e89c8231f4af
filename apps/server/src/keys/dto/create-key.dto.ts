import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsDateString,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { SCOPES, type Scope } from '../key.types';

export class CreateKeyDto {
  @ApiProperty({ example: 'billing-service', description: 'Who the key is for (shown in lists and the audit log).' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @ApiProperty({ enum: SCOPES, isArray: true, example: ['chat'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true, message: `each scope must be one of: ${SCOPES.join(', ')}` })
  scopes: Scope[];

  @ApiPropertyOptional({
    type: [String],
    description: 'Chat keys only: the apps (app_code) this key may run; omit for any app.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(255, { each: true })
  app_codes?: string[];

  @ApiPropertyOptional({ example: '2027-01-01T00:00:00Z', description: 'When the key stops working (ISO 8601).' })
  @IsOptional()
  @IsDateString({ strict: true })
  expires_at?: string;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 1_000_000,
    example: 120,
    description:
      "This key's requests per minute over all replicas; null or omitted: RATE_LIMIT_PER_MINUTE; 0: unlimited.",
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  rate_limit_per_minute?: number | null;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 10_000,
    example: 4,
    description:
      "This key's chat runs in flight at once over all replicas; null or omitted: MAX_CONCURRENT_RUNS_PER_KEY; 0: unlimited.",
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10_000)
  max_concurrent_runs?: number | null;
}
