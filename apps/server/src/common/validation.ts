import { ArgumentMetadata, ValidationError, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import { ApiError } from './api-error';

/** Flattens class-validator errors into `path: message` items, paths like `details[0].agent_name`. */
export function flattenValidationErrors(errors: ValidationError[], prefix = ''): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const e of errors) {
    const path = /^\d+$/.test(e.property)
      ? `${prefix}[${e.property}]`
      : prefix
        ? `${prefix}.${e.property}`
        : e.property;
    for (const raw of Object.values(e.constraints ?? {})) {
      // class-validator starts messages with the bare property name; show the full path instead.
      const message = raw.startsWith(`property ${e.property} `)
        ? `property ${path} ${raw.slice(`property ${e.property} `.length)}`
        : raw.startsWith(`${e.property} `)
          ? `${path} ${raw.slice(e.property.length + 1)}`
          : `${path}: ${raw}`;
      out.push({ path, message });
    }
    if (e.children?.length) out.push(...flattenValidationErrors(e.children, path));
  }
  return out;
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
