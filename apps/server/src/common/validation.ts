import { ArgumentMetadata, ValidationError, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import { registerDecorator, useContainer, ValidationArguments, ValidationOptions } from 'class-validator';
import { ApiError, ErrorCode } from './api-error';

/**
 * class-validator finds the instance of each check (and its own Validator)
 * by a linear search of every check used so far in the process, on every
 * validation: with the server's few hundred checks, that search cost as
 * much as the checks of a chat request themselves. A map finds them at once.
 */
const checkInstances = new Map<new () => unknown, unknown>();
useContainer({
  get(type: new () => unknown): unknown {
    let instance = checkInstances.get(type);
    if (instance === undefined) {
      instance = new type();
      checkInstances.set(type, instance);
    }
    return instance;
  },
});

/** One failed check: where (`details[0].agent_name`), the sentence, and its error code when not `validation_error`. */
export interface ValidationFailure {
  path: string;
  message: string;
  code?: ErrorCode;
}

/**
 * Flattens class-validator errors into `path: message` items, paths like `details[0].agent_name`.
 * A check whose `context` carries a `code` answers with that code.
 */
export function flattenValidationErrors(errors: ValidationError[], prefix = ''): ValidationFailure[] {
  const out: ValidationFailure[] = [];
  for (const e of errors) {
    const path = /^\d+$/.test(e.property)
      ? `${prefix}[${e.property}]`
      : prefix
        ? `${prefix}.${e.property}`
        : e.property;
    for (const [name, raw] of Object.entries(e.constraints ?? {})) {
      const code = (e.contexts?.[name] as { code?: ErrorCode } | undefined)?.code;
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
    if (e.children?.length) out.push(...flattenValidationErrors(e.children, path));
  }
  return out;
}

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

const IGNORES_UNKNOWN = Symbol('ignoresUnknownFields');

/**
 * Marks a DTO whose undeclared fields are dropped instead of refused: query
 * strings DB-GPT's callers send with parameters of their own (FastAPI ignores them).
 */
export const IgnoreUnknownFields = (): ClassDecorator => (target) => {
  Reflect.defineMetadata(IGNORES_UNKNOWN, true, target);
};

/** Refuses unknown fields, except in DTOs marked with `IgnoreUnknownFields`. */
class RequestValidationPipe extends ValidationPipe {
  private readonly lenient: ValidationPipe;

  constructor(options: ValidationPipeOptions) {
    super(options);
    this.lenient = new ValidationPipe({ ...options, forbidNonWhitelisted: false });
  }

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.metatype && Reflect.getMetadata(IGNORES_UNKNOWN, metadata.metatype) === true) {
      return this.lenient.transform(value, metadata) as Promise<unknown>;
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

/** The global pipe: whitelist DTOs, reject unknown properties, report the first bad field as `param`. */
export function createValidationPipe(): ValidationPipe {
  return new RequestValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => {
      const items = flattenValidationErrors(errors);
      const first = items[0];
      return ApiError.badRequest(
        'validation_error',
        items.map((i) => i.message).join('; ') || 'Invalid request.',
        first?.path ?? null,
      );
    },
  });
}
