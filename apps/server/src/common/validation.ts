import { ValidationError, ValidationPipe } from '@nestjs/common';
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

/** The global pipe: whitelist DTOs, reject unknown properties, report the first bad field as `param`. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
