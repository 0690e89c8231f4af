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

/**
 * `page` (from 1) and `page_size` (1–100, default 20) of a paged list.
 * Decorators are checked bottom-up and only the first failure is reported,
 * so the type check sits nearest the property.
 */
export class PageQuery {
  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: 1_000_000 })
  @IsOptional()
  @Max(1_000_000)
  @Min(1)
  @IsInt({ message: wholeNumber })
  @Transform(toDecimal)
  page?: number;

  @ApiPropertyOptional({ default: 20, minimum: 1, maximum: 100 })
  @IsOptional()
  @Max(100)
  @Min(1)
  @IsInt({ message: wholeNumber })
  @Transform(toDecimal)
  page_size?: number;
}
