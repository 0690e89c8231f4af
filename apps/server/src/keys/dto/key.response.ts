import { ApiProperty } from '@nestjs/swagger';
import { PageTotalsResponse } from '../../common/page.response';
import { SCOPES } from '../key.types';
import type { CreatedKeyView, KeyView, Scope } from '../key.types';

/** A stored key as the API shows it: never the secret, never its hash. */
export class KeyResponse implements KeyView {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'billing-service' })
  name: string;

  @ApiProperty({ description: 'The first characters of the secret, to recognise it.', example: 'ens_3kq9' })
  prefix: string;

  @ApiProperty({ enum: SCOPES, isArray: true })
  scopes: Scope[];

  @ApiProperty({ type: [String], nullable: true, description: 'For a chat key: the only apps it may run (null: any).' })
  app_codes: string[] | null;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  last_used_at: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  expires_at: string | null;

  @ApiProperty()
  revoked: boolean;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      'Requests per minute over all replicas; null: the server default (RATE_LIMIT_PER_MINUTE); 0: unlimited.',
  })
  rate_limit_per_minute: number | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      'Chat runs in flight at once over all replicas; null: the server default (MAX_CONCURRENT_RUNS_PER_KEY); 0: unlimited.',
  })
  max_concurrent_runs: number | null;
}

/** A key just created: the one answer that carries its secret. */
export class CreatedKeyResponse extends KeyResponse implements CreatedKeyView {
  @ApiProperty({ description: 'The secret, shown this once.', example: 'ens_3kq9…' })
  key: string;
}

export class KeyListResponse extends PageTotalsResponse {
  @ApiProperty({ type: [KeyResponse] })
  items: KeyView[];
}
