import { ApiProperty } from '@nestjs/swagger';
import type { pageTotals } from './page.query';

/** The paging fields of a list answer (`pageTotals`), as DB-GPT names them. */
export type PageTotalsView = ReturnType<typeof pageTotals>;

/** The paging fields every list response DTO extends. */
export class PageTotalsResponse implements PageTotalsView {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Items matching the filters, over all pages.' })
  total_count: number;

  @ApiProperty({ type: 'integer', minimum: 0 })
  total_page: number;

  @ApiProperty({ type: 'integer', minimum: 1 })
  current_page: number;
}
