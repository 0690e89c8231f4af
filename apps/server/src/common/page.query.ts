import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** The largest page served; a larger `page_size` is clamped to it. */
export const MAX_PAGE_SIZE = 100;

/**
 * `page` (from 1) and `page_size` (1–100, default 20; above 100 served as 100) of a paged list.
 * The defaults are set here, so every list reads both as numbers.
 */
export class PageQuery {
  @ApiPropertyOptional({ default: 1, minimum: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page: number = 1;

  @ApiPropertyOptional({ default: 20, minimum: 1, description: `Above ${MAX_PAGE_SIZE}, ${MAX_PAGE_SIZE} are served.` })
  @IsOptional()
  @Type(() => Number)
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'number' && value > MAX_PAGE_SIZE ? MAX_PAGE_SIZE : value,
  )
  @IsInt()
  @Min(1)
  page_size: number = 20;
}
