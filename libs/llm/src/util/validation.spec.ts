import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsOptional,
  IsString,
  MaxLength,
  registerDecorator,
  ValidateIf,
  ValidateNested,
  validateSync,
} from 'class-validator';
import { fieldCheck, quickChecks } from './validation';

class Inner {
  @IsString()
  name!: unknown;
}

class Outer {
  @fieldCheck('positive', (v) => typeof v === 'number' && v > 0, () => 'count must be positive')
  count!: unknown;

  @IsOptional()
  @MaxLength(3)
  note?: unknown;

  @ValidateIf((o: Outer) => o.count !== 1)
  @IsString()
  unlessOne?: unknown;

  @IsOptional()
  @ValidateNested()
  @Type(() => Inner)
  inner?: unknown;
}

class Untyped {
  @ValidateNested()
  inner!: unknown;
}

class Each {
  @IsString({ each: true })
  @ArrayMaxSize(2)
  tags!: unknown;
}

class Later {
  @IsString()
  value!: unknown;
}
registerDecorator({
  name: 'later',
  target: Later,
  propertyName: 'value',
  async: true,
  validator: { validate: () => Promise.resolve(true) },
});

const instance = <T extends object>(cls: new () => T, fields: Record<string, unknown>): T =>
  Object.assign(new cls(), fields);
const inner = (name: unknown) => instance(Inner, { name });

/** For each case, class-validator's verdict on `validated(fields)` and `quick(fields)` are both the expected one. */
function expectVerdicts(
  cases: [Record<string, unknown>, boolean][],
  validated: (fields: Record<string, unknown>) => object,
  quick: (fields: Record<string, unknown>) => boolean,
): void {
  for (const [fields, expected] of cases) {
    expect([fields, validateSync(validated(fields), { forbidUnknownValues: false }).length === 0]).toEqual([
      fields,
      expected,
    ]);
    expect([fields, quick(fields)]).toEqual([fields, expected]);
  }
}

describe('quickChecks', () => {
  it('says valid exactly when class-validator finds nothing wrong, for the kinds of check it compiles', () => {
    const cases: [Record<string, unknown>, boolean][] = [
      [{ count: 2, unlessOne: 's' }, true],
      [{ count: 1 }, true],
      [{ count: 2, unlessOne: 's', note: null, inner: undefined }, true],
      [{ count: 2, unlessOne: 's', note: 'abc', inner: inner('x') }, true],
      [{ count: 0, unlessOne: 's' }, false],
      [{ count: 2 }, false],
      [{ count: 2, unlessOne: 's', note: 'abcd' }, false],
      [{ count: 2, unlessOne: 's', inner: inner(5) }, false],
      [{ count: 2, unlessOne: 's', inner: 'text' }, false],
    ];
    const quick = quickChecks(Outer);
    expectVerdicts(
      cases,
      (fields) => instance(Outer, fields),
      (fields) => quick(instance(Outer, fields)),
    );
  });

  it('checks a plain object as the instance class-transformer makes of it, its bare nested objects as their @Type', () => {
    const cases: [Record<string, unknown>, boolean][] = [
      [{ count: 2, unlessOne: 's', inner: { name: 'x' } }, true],
      [{ count: 2, unlessOne: 's', inner: { name: 5 } }, false],
      [{ count: 2, unlessOne: 's', inner: null }, true],
      [{ count: 0, unlessOne: 's', inner: { name: 'x' } }, false],
    ];
    expectVerdicts(cases, (plain) => plainToInstance(Outer, plain), quickChecks(Outer));
  });

  it('leaves to class-validator what it does not model: a nested list, a bare object of no known class, `each`, async checks', () => {
    const quick = quickChecks(Outer);
    const list = instance(Outer, { count: 2, unlessOne: 's', inner: [inner('x')] });
    expect(validateSync(list, { forbidUnknownValues: false })).toEqual([]);
    expect(quick(list)).toBe(false);
    const untyped = instance(Untyped, { inner: { name: 'x' } });
    expect(validateSync(untyped, { forbidUnknownValues: false })).toEqual([]);
    expect(quickChecks(Untyped)(untyped)).toBe(false);
    const each = instance(Each, { tags: ['a'] });
    expect(validateSync(each)).toEqual([]);
    expect(quickChecks(Each)(each)).toBe(false);
    expect(quickChecks(Later)(instance(Later, { value: 'v' }))).toBe(false);
  });
});
