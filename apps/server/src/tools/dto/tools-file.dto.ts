/**
 * The tools file's shape as class-validator DTOs, in the file's own
 * (snake_case) keys. `parseToolsConfig` picks the server class by
 * `transport`, so each kind of server refuses the keys of the other.
 */
import {
  ENV_NAME,
  fieldCheck,
  HEADER_NAME,
  isHttpUrl,
  IsIntegerFrom,
  isNonBlankString,
  isRecord,
  OptionalKey,
} from '@ensemble/llm';
import { IsIn, IsOptional, ValidationArguments } from 'class-validator';

export const TOOL_TRANSPORTS = ['stdio', 'streamable_http', 'sse'] as const;
export type ToolTransport = (typeof TOOL_TRANSPORTS)[number];

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string');

/** A list of environment variable names; the message names the ones that are not. */
const IsEnvNameList = () =>
  fieldCheck(
    'envNameList',
    (value) => isStringList(value) && value.every((v) => ENV_NAME.test(v)),
    (args: ValidationArguments) => {
      const bad = isStringList(args.value) ? args.value.filter((v) => !ENV_NAME.test(v)) : [];
      const names = bad.map((v) => JSON.stringify(v)).join(', ');
      return bad.length > 0
        ? `${args.property} must be a list of environment variable names: ${names} ${bad.length > 1 ? 'are' : 'is'} not`
        : `${args.property} must be a list of environment variable names`;
    },
  );

/** Header name → name of the environment variable holding its value; the message names each entry at fault. */
const IsHeaderEnvMap = () =>
  fieldCheck(
    'headerEnvMap',
    (value) =>
      isRecord(value) &&
      Object.entries(value).every(([h, v]) => HEADER_NAME.test(h) && typeof v === 'string' && ENV_NAME.test(v)),
    (args: ValidationArguments) => {
      if (!isRecord(args.value)) return `${args.property} must be an object of header name → variable name`;
      const faults = Object.entries(args.value).flatMap(([h, v]) =>
        !HEADER_NAME.test(h)
          ? [`${JSON.stringify(h)} is not a header name`]
          : typeof v !== 'string' || !ENV_NAME.test(v)
            ? [`${JSON.stringify(h)} does not name an environment variable`]
            : [],
      );
      return `${args.property} must map header names to environment variable names: ${faults.join(', ')}`;
    },
  );

/** What every server has. A server of an unknown transport is checked as this alone (its other keys are not judged). */
export class ToolServerDto {
  @fieldCheck(
    'serverName',
    (value) => typeof value === 'string' && SERVER_NAME.test(value),
    (args) => `${args.property} must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`,
  )
  name: string;

  @IsIn(TOOL_TRANSPORTS, { message: `transport must be one of ${TOOL_TRANSPORTS.join(', ')}` })
  transport: ToolTransport;

  /** Only these tools are offered; unset: every tool the server lists. */
  @OptionalKey()
  @fieldCheck(
    'toolNames',
    (value) => isStringList(value) && value.length > 0 && value.every(isNonBlankString),
    (args) => `${args.property} must be a non-empty list of tool names`,
  )
  tools?: string[];

  /** Per-call timeout; unset or null: the default. */
  @IsOptional()
  @IsIntegerFrom(1, 3_600_000)
  timeout_ms?: number | null;
}

/** `"transport": "stdio"`: a child process spoken to over stdin/stdout. */
export class StdioServerDto extends ToolServerDto {
  @fieldCheck('nonEmpty', isNonBlankString, (args) => `${args.property} must be a non-empty string`)
  command: string;

  @IsOptional()
  @fieldCheck('stringList', isStringList, (args) => `${args.property} must be a list of strings`)
  args?: string[] | null;

  @OptionalKey()
  @fieldCheck(
    'nonEmpty',
    (value) => typeof value === 'string' && value !== '',
    (args) => `${args.property} must be a non-empty string`,
  )
  cwd?: string;

  /** Names of the variables of Ensemble's environment passed on to the process. */
  @IsOptional()
  @IsEnvNameList()
  env?: string[] | null;
}

/** `"transport": "streamable_http"` or `"sse"`: a server reached over HTTP. */
export class HttpServerDto extends ToolServerDto {
  @fieldCheck(
    'httpUrl',
    (value) => typeof value === 'string' && isHttpUrl(value),
    (args) => `${args.property} must be an http:// or https:// URL`,
  )
  url: string;

  @OptionalKey()
  @IsHeaderEnvMap()
  headers_env?: Record<string, string>;
}

/** The file's top level. The entries of `servers` are checked one by one, each as the class its transport takes. */
export class ToolsFileDto {
  @fieldCheck('list', (value) => Array.isArray(value), (args) => `${args.property} must be a list`)
  servers: unknown[];
}
