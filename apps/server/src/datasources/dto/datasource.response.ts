import { ApiProperty } from '@nestjs/swagger';
import { DB_TYPES } from '../drivers/driver';
import type { DatasourceTypeView, DatasourceView } from '../datasources.service';

/** A datasource on the wire: DB-GPT's `DatasourceModel` fields, the password masked, plus the newer form. */
export class DatasourceResponse implements DatasourceView {
  @ApiProperty({ type: 'integer' })
  id: number;

  @ApiProperty({ enum: DB_TYPES })
  db_type: string;

  @ApiProperty()
  db_name: string;

  @ApiProperty({ description: 'The sqlite file; "" for servers.' })
  db_path: string;

  @ApiProperty({ description: '"" for sqlite.' })
  db_host: string;

  @ApiProperty({ type: 'integer', description: '0 for sqlite.' })
  db_port: number;

  @ApiProperty()
  db_user: string;

  @ApiProperty({
    enum: ['******', ''],
    description: '"******" when a password is set, "" when not; never the password.',
  })
  db_pwd: string;

  @ApiProperty()
  comment: string;

  @ApiProperty({ enum: DB_TYPES, description: 'The newer form of db_type.' })
  type: string;

  @ApiProperty({ description: 'The newer form of comment.' })
  description: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }] },
    description: 'The newer form of the connection fields (`password` masked as db_pwd is).',
  })
  params: Record<string, string | number>;

  @ApiProperty({ format: 'date-time' })
  gmt_created: string;

  @ApiProperty({ format: 'date-time' })
  gmt_modified: string;
}

/** A datasource type served, with the fields its form asks for. */
export class DatasourceTypeResponse implements DatasourceTypeView {
  @ApiProperty({ enum: DB_TYPES })
  name: string;

  @ApiProperty({ example: 'PostgreSQL' })
  label: string;

  @ApiProperty({ type: [String], example: ['db_host', 'db_port', 'db_user', 'db_pwd', 'db_name'] })
  fields: readonly string[];
}
