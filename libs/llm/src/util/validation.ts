/**
 * The one way class-validator errors become readable problems, for the
 * server's requests and environment and for the operator's files: each
 * failure flattened to a path (`models[2].base_url`) and a sentence.
 */
import { plainToInstance } from 'class-transformer';
import {
  getMetadataStorage,
  registerDecorator,
  validateSync,
  ValidateIf,
  ValidationArguments,
  ValidationError,
  ValidationOptions,
  ValidationTypes,
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

/** The checks of one property, read once from class-validator's metadata. */
interface PropertyChecks {
  property: string;
  /** `@IsOptional`/`@ValidateIf` conditions: when one is false, the property is not checked. */
  conditions: ((object: object, value: unknown) => boolean)[];
  /** Custom constraints (every `fieldCheck` and class-validator's own checks) with their arguments. */
  constraints: { validate: (value: unknown, args: ValidationArguments) => unknown; args: unknown[] }[];
  /** `@ValidateNested`: the class class-transformer makes of a bare object here (`@Type`), when it makes one. */
  nested: false | { cls: (new () => object) | undefined };
}

/** `cls`'s compiled checks, each class compiled once; `null` when a check is of a kind not compiled. */
const compiledChecks = new Map<object, ((object: object) => boolean) | null>();

/**
 * A fast first pass over class-validator's own metadata for `cls` (every
 * group): true only when every check passes, as `validateSync(instance,
 * {forbidUnknownValues: false})` would find. It runs the same constraint
 * instances with the same arguments without building class-validator's
 * errors and lookups, so a valid request pays only its checks. False means
 * "ask class-validator", which stays the one source of errors: the pass
 * answers false for anything it does not model (asynchronous checks, `each`,
 * nested lists, a nested object of no known class).
 *
 * `object` may also be the plain object itself, before class-transformer
 * makes it an instance: a bare nested object is checked as the class its
 * `@Type` names. For a class whose fields class-transformer copies as they
 * are (no `@Transform`), true then means that `plainToInstance(cls, object)`
 * passes, without building it.
 */
export function quickChecks(cls: new () => object): (object: object) => boolean {
  let check = compiledChecks.get(cls);
  if (check === undefined) {
    check = compileChecks(cls);
    compiledChecks.set(cls, check);
  }
  return check ?? (() => false);
}

function compileChecks(cls: new () => object): ((object: object) => boolean) | null {
  const storage = getMetadataStorage();
  const byProperty = new Map<string, PropertyChecks>();
  for (const m of storage.getTargetValidationMetadatas(cls, '', false, false)) {
    let p = byProperty.get(m.propertyName);
    if (!p)
      byProperty.set(
        m.propertyName,
        (p = { property: m.propertyName, conditions: [], constraints: [], nested: false }),
      );
    if (m.each) return null;
    if (m.type === ValidationTypes.CONDITIONAL_VALIDATION) {
      p.conditions.push(m.constraints[0] as PropertyChecks['conditions'][number]);
    } else if (m.type === ValidationTypes.CUSTOM_VALIDATION) {
      for (const c of storage.getTargetValidatorConstraints(m.constraintCls)) {
        if (c.async) return null;
        const instance = c.instance as { validate: PropertyChecks['constraints'][number]['validate'] };
        p.constraints.push({ validate: instance.validate.bind(instance), args: m.constraints });
      }
    } else if (m.type === ValidationTypes.NESTED_VALIDATION) {
      p.nested = { cls: typeMadeFor(cls, m.propertyName) };
    } else {
      return null;
    }
  }
  const properties = [...byProperty.values()];
  const targetName = cls.name;
  return (object) => {
    // One arguments object per pass, set for each check: the checks are synchronous and read it only while they run.
    const args: ValidationArguments = { targetName, property: '', object, value: undefined, constraints: [] };
    for (const p of properties) {
      const value = (object as Record<string, unknown>)[p.property];
      if (!conditionsHold(p.conditions, object, value)) continue;
      args.property = p.property;
      args.value = value;
      for (const c of p.constraints) {
        args.constraints = c.args;
        const valid = c.validate(value, args);
        if (!valid || typeof (valid as { then?: unknown }).then === 'function') return false;
      }
      if (p.nested && value !== undefined && !nestedPasses(value, p.nested.cls)) return false;
    }
    return true;
  };
}

/** Whether every `@ValidateIf` of a property lets its checks run (no closure per property and pass). */
function conditionsHold(conditions: PropertyChecks['conditions'], object: object, value: unknown): boolean {
  for (const condition of conditions) if (!condition(object, value)) return false;
  return true;
}

/**
 * The class class-transformer makes of a bare object at `property` of `cls`
 * (its `@Type`), asked of class-transformer itself once; undefined when it
 * keeps a bare object.
 */
function typeMadeFor(cls: new () => object, property: string): (new () => object) | undefined {
  const made = (plainToInstance(cls, { [property]: {} }) as Record<string, unknown>)[property];
  const type = typeof made === 'object' && made !== null ? made.constructor : undefined;
  return typeof type === 'function' && type !== Object ? (type as new () => object) : undefined;
}

/**
 * A nested value passes when its compiled checks pass: those of its class
 * when it is an instance, of `bareAs` (the property's `@Type`) when it is a
 * bare object. Anything else (a list, a bare object of no known class) is
 * left to class-validator.
 */
function nestedPasses(value: unknown, bareAs: (new () => object) | undefined): boolean {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Set ||
    value instanceof Map
  )
    return false;
  const cls = value.constructor === Object ? bareAs : value.constructor;
  return typeof cls === 'function' && cls !== Object && quickChecks(cls as new () => object)(value);
}
