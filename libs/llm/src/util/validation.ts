/**
 * The one way class-validator errors become readable problems, for the
 * server's requests and environment and for the operator's files: each
 * failure flattened to a path (`models[2].base_url`) and a sentence.
 */
import { registerDecorator, ValidationArguments, ValidationError, ValidationOptions } from 'class-validator';

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
