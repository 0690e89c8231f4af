/**
 * The one way class-validator errors become readable problems, for the
 * server's requests and environment and for the operator's files: each
 * failure flattened to a path (`models[2].base_url`) and a sentence.
 */
import { plainToInstance } from 'class-transformer';
import {
  registerDecorator,
  validateSync,
  ValidateIf,
  ValidationArguments,
  ValidationError,
  ValidationOptions,
} from 'class-validator';

/** One failed check: where (`details[0].agent_name`), the sentence, and its error code when the check gives one. */
export interface ValidationFailure<Code extends string = string> {
  path: string;
  message: string;
  code?: Code;
}

/**
 * Flattens class-validator errors into `path: message` items, paths like `details[0].agent_name`.
 * A check whose `context` carries a `code` answers with that code.
 */
export function flattenValidationErrors<Code extends string = string>(
  errors: ValidationError[],
  prefix = '',
): ValidationFailure<Code>[] {
  const out: ValidationFailure<Code>[] = [];
  for (const e of errors) {
    const path = /^\d+$/.test(e.property)
      ? `${prefix}[${e.property}]`
      : prefix
        ? `${prefix}.${e.property}`
        : e.property;
    for (const [name, raw] of Object.entries(e.constraints ?? {})) {
      const code = (e.contexts?.[name] as { code?: Code } | undefined)?.code;
      // A check of a list or object may name the part at fault (`messages[2].role must be …`): that part is the path.
      const part =
        raw.startsWith(`${e.property}[`) || raw.startsWith(`${e.property}.`) ? raw.split(' ', 1)[0] : undefined;
      if (part !== undefined) {
        const at = prefix ? `${prefix}.${part}` : part;
        out.push({ path: at, message: `${at}${raw.slice(part.length)}`, code });
        continue;
      }
      // class-validator starts messages with the bare property name; show the full path instead.
      const message = raw.startsWith(`property ${e.property} `)
        ? `property ${path} ${raw.slice(`property ${e.property} `.length)}`
        : raw.startsWith(`${e.property} `)
          ? `${path} ${raw.slice(e.property.length + 1)}`
          : `${path}: ${raw}`;
      out.push({ path, message, code });
    }
    if (e.children?.length) out.push(...flattenValidationErrors<Code>(e.children, path));
  }
  return out;
}

/** A string with something other than white space in it. */
export const isNonBlankString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/**
 * A custom check of one DTO field as a class-validator constraint named `name`:
 * `validate` sees the value and the DTO, `message` says what is wrong.
 */
export function fieldCheck(
  name: string,
  validate: (value: unknown, args: ValidationArguments) => boolean,
  message: (args: ValidationArguments) => string,
  options?: ValidationOptions,
): PropertyDecorator {
  return (object: object, propertyName: string | symbol) =>
    registerDecorator({
      name,
      target: object.constructor,
      propertyName: propertyName as string,
      options: { message, ...options },
      validator: { validate },
    });
}

/** A key that may be left out; unlike `@IsOptional()`, a `null` is checked (and refused) like any other value. */
export const OptionalKey = (): PropertyDecorator =>
  ValidateIf((_object: object, value: unknown) => value !== undefined);

/** An integer of at least `min` (and at most `max`, when given). */
export const IsIntegerFrom = (min: number, max?: number): PropertyDecorator =>
  fieldCheck(
    'integerFrom',
    (value) =>
      Number.isSafeInteger(value) && (value as number) >= min && (max === undefined || (value as number) <= max),
    (args) =>
      max === undefined
        ? `${args.property} must be an integer of at least ${min}`
        : `${args.property} must be an integer from ${min} to ${max}`,
  );

/** A value checked as a DTO: the instance, and its problems flattened. */
export interface DtoCheck<T> {
  dto: T;
  /** One sentence per problem, each naming its path. */
  problems: string[];
  /** True when a problem is about `key` of the value checked. */
  faultAt: (key: string) => boolean;
}

/**
 * Checks a parsed JSON object (an entry of an operator's file) as the DTO
 * `cls`, reporting every problem with its path under `prefix`. Unknown keys
 * are refused, or with `refuseUnknownKeys` false, left out unjudged.
 */
export function checkDto<T extends object>(
  cls: new () => T,
  value: object,
  prefix = '',
  refuseUnknownKeys = true,
): DtoCheck<T> {
  const dto = plainToInstance(cls, value);
  const errors = validateSync(dto, {
    whitelist: true,
    forbidNonWhitelisted: refuseUnknownKeys,
    stopAtFirstError: true,
  });
  const failures = flattenValidationErrors(errors, prefix);
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  return {
    dto,
    problems: failures.map((f) => f.message),
    faultAt: (key) => failures.some((f) => f.path === at(key)),
  };
}
