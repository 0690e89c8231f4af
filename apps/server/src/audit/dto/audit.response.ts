import { ApiProperty } from '@nestjs/swagger';
import { PageTotalsResponse } from '../../common/page.response';
import type { AuditListView, AuditView } from '../audit.repository';

/** One admin change: who (the key), what (method and route), on which target, when. */
export class AuditEntryResponse implements AuditView {
  @ApiProperty({ example: '42' })
  id: string;

  @ApiProperty({ format: 'date-time' })
  at: string;

  @ApiProperty({ example: 'env:1' })
  key_id: string;

  @ApiProperty({ example: 'POST /api/v2/serve/apps' })
  action: string;

  @ApiProperty({ type: String, nullable: true, example: 'app_code=awel-helper' })
  target: string | null;
}

export class AuditListResponse extends PageTotalsResponse implements AuditListView {
  @ApiProperty({ type: [AuditEntryResponse] })
  items: AuditView[];
}
