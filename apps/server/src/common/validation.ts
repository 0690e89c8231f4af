import { ArgumentMetadata, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import { flattenValidationErrors } from '@ensemble/llm';
import { useContainer } from 'class-validator';
import { ApiError } from './api-error';

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
