import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DB_TYPES } from '../drivers/driver';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;

/**
 * A datasource as DB-GPT's clients send it: the `DatasourceModel` fields
 * (`db_type`, `db_name`, `db_host`, …) or DB-GPT's newer form
 * (`type`, `params`, `description`); both may be mixed, the flat fields win.
 */
export class DatasourceDto {
  @ApiPropertyOptional({ description: 'Id (PUT: which datasource; else looked up by db_name)' })
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  id?: number;

  @ApiPropertyOptional({ enum: DB_TYPES })
  @IsOptional()
  @IsIn(DB_TYPES, { message: `db_type must be one of: ${DB_TYPES.join(', ')}` })
  db_type?: string;

  @ApiPropertyOptional({ description: 'Unique name; the database to connect to (postgresql, mysql)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  db_name?: string;

  @ApiPropertyOptional({ description: 'sqlite: the file, inside DATASOURCE_FILES_DIR (relative paths resolve there)' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  db_path?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  db_host?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Transform(toInt)
  @Min(0)
  @Max(65535)
  @IsInt()
  db_port?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  db_user?: string;

  @ApiPropertyOptional({ description: 'Write-only; answers show "******" when set. Sending the mask keeps it.' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  db_pwd?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  comment?: string;

  @ApiPropertyOptional({ description: 'DB-GPT client field; stored as the comment when no comment is given' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  desc?: string;

  @ApiPropertyOptional({ description: 'Newer form: the type (as db_type)' })
  @IsOptional()
  @IsIn(DB_TYPES, { message: `type must be one of: ${DB_TYPES.join(', ')}` })
  type?: string;

  @ApiPropertyOptional({
    description: 'Newer form: {host, port, user, password, database, path}',
    type: 'object',
    additionalProperties: true,
  })
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Newer form: the comment' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  description?: string;

  @ApiPropertyOptional({ description: 'Accepted and ignored (DB-GPT field)' })
  @IsOptional()
  ext_config?: unknown;

  @ApiPropertyOptional({ description: 'Accepted and ignored (server-set)' })
  @IsOptional()
  gmt_created?: unknown;

  @ApiPropertyOptional({ description: 'Accepted and ignored (server-set)' })
  @IsOptional()
  gmt_modified?: unknown;
}

export class ListDatasourcesQuery {
  @ApiPropertyOptional({ enum: DB_TYPES })
  @IsOptional()
  @IsString()
  db_type?: string;
}
