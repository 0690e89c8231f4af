import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, ValidationArguments } from 'class-validator';

/**
 * A query number as written: plain decimal digits only (`0x10`, `1e3`, ` 7`
 * stay strings and fail `@IsInt`), and a parameter given twice stays an
 * array, so the message can say so instead of reporting a bound.
 */
const toDecimal = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;

const wholeNumber = (a: ValidationArguments) =>
  Array.isArray(a.value)
    ? `${a.property} must be given once`
    : `${a.property} must be a whole number written in decimal digits`;

/** The largest page served; a larger `page_size` is clamped to it (as DB-GPT's clients expect). */
export const MAX_PAGE_SIZE = 100;

const toPageSize = (arg: { value: unknown }) => {
  const value = toDecimal(arg);
  return typeof value === 'number' && value > MAX_PAGE_SIZE ? MAX_PAGE_SIZE : value;
};

/**
 * `page` (from 1) and `page_size` (from 1, default 20; above 100 served as
 * 100) of a paged list. Decorators are checked bottom-up and only the first
 * failure is reported, so the type check sits nearest the property.
 */
export class PageQuery {
  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: 1_000_000 })
  @IsOptional()
  @Max(1_000_000)
  @Min(1)
  @IsInt({ message: wholeNumber })
  @Transform(toDecimal)
  page: number = 1;

  @ApiPropertyOptional({ default: 20, minimum: 1, description: `Above ${MAX_PAGE_SIZE}, ${MAX_PAGE_SIZE} are served.` })
  @IsOptional()
  @Min(1)
  @IsInt({ message: wholeNumber })
  @Transform(toPageSize)
  page_size: number = 20;
}

/** The rows a page skips. */
export function pageOffset(q: Pick<PageQuery, 'page' | 'page_size'>): number {
  return (q.page - 1) * q.page_size;
}

/** The paging fields of a list answer, as DB-GPT names them. */
export function pageTotals(q: Pick<PageQuery, 'page' | 'page_size'>, total: number) {
  return { total_count: total, total_page: Math.ceil(total / q.page_size), current_page: q.page };
}
