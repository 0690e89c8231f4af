import { ValidationOptions } from 'class-validator';
import { assignableRoleNames, isAssignableRole } from '@ensemble/agents';
import { fieldCheck, isRecord } from '@ensemble/llm';

/** `agent_name` must name an assignable role of the Agents library's registry. */
export const IsKnownRole = (options?: ValidationOptions) =>
  fieldCheck(
    'isKnownRole',
    (v) => typeof v === 'string' && isAssignableRole(v),
    (a) => `${a.property} must be one of: ${assignableRoleNames().join(', ')} (got ${JSON.stringify(a.value)})`,
    options,
  );

/** A string, or a plain object, whose JSON is at most `maxLength` characters. */
export const IsStringOrObject = ({ maxLength }: { maxLength: number }, options?: ValidationOptions) =>
  fieldCheck(
    'isStringOrObject',
    (v) => (typeof v === 'string' || isRecord(v)) && JSON.stringify(v).length <= maxLength,
    (a) => `${a.property} must be a string or an object of at most ${maxLength} characters`,
    options,
  );

/** A comma-separated string or an array of strings. */
export const IsStringOrStringArray = ({ maxLength }: { maxLength: number }, options?: ValidationOptions) =>
  fieldCheck(
    'isStringOrStringArray',
    (v) =>
      (typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string'))) &&
      JSON.stringify(v).length <= maxLength,
    (a) => `${a.property} must be a comma-separated string or an array of strings`,
    options,
  );

/** Every item a string or a plain object. */
export const IsStringArrayOrObjectArray = (options?: ValidationOptions) =>
  fieldCheck(
    'isStringArrayOrObjectArray',
    (v) =>
      Array.isArray(v) && v.every((i) => typeof i === 'string' || isRecord(i)) && JSON.stringify(v).length <= 65536,
    (a) => `${a.property} must be an array of strings or objects`,
    options,
  );
