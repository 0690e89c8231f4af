/**
 * The models file's shape as class-validator DTOs, in the file's own
 * (snake_case) keys. `parseModelsConfig` picks the entry class by
 * `provider` and `type`, so each kind of entry refuses the keys of the others.
 */
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsObject, IsString, ValidateNested, ValidationArguments } from 'class-validator';
import { ENV_NAME, HEADER_NAME, isHttpUrl } from './util/config-file';
import { isRecord } from './util/is-record';
import { fieldCheck, IsIntegerFrom, isNonBlankString, OptionalKey } from './util/validation';

export const PROVIDER_NAMES = ['openai', 'offline'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export const MODEL_TYPES = ['chat', 'embedding'] as const;

/** A number from `min` to `max`. */
const NumberFrom = (min: number, max: number) =>
  fieldCheck(
    'numberFrom',
    (value) => typeof value === 'number' && value >= min && value <= max,
    (args) => `${args.property} must be a number from ${min} to ${max}`,
  );

/** A model name clients can send: not empty, no commas (lists of names are comma-separated), no surrounding spaces. */
const IsModelName = () =>
  fieldCheck(
    'modelName',
    (value) => isNonBlankString(value) && value === value.trim() && !value.includes(','),
    (args: ValidationArguments) =>
      isNonBlankString(args.value)
        ? `${args.property} must not contain commas or surrounding spaces`
        : `${args.property} must be a non-empty string`,
  );

/** Request headers: an object of strings, each under a valid header name; every bad name or value is listed. */
const IsHeaders = () =>
  fieldCheck(
    'headers',
    (value) => isRecord(value) && Object.entries(value).every(([k, v]) => HEADER_NAME.test(k) && typeof v === 'string'),
    (args: ValidationArguments) => {
      if (!isRecord(args.value)) return `${args.property} must be an object of strings`;
      const faults = Object.entries(args.value).flatMap(([k, v]) => [
        ...(HEADER_NAME.test(k) ? [] : [`"${k}" is not a valid header name`]),
        ...(typeof v === 'string' ? [] : [`the value of "${k}" is not a string`]),
      ]);
      return `${args.property} must map header names to strings: ${faults.join(', ')}`;
    },
  );

/**
 * The name of the environment variable holding the key. Never echoes the
 * value: a key pasted here by mistake must not reach the logs.
 */
const IsEnvName = () =>
  fieldCheck(
    'envName',
    (value) => typeof value === 'string' && ENV_NAME.test(value),
    (args: ValidationArguments) =>
      typeof args.value === 'string' && args.value !== ''
        ? `${args.property} must be an environment variable name (letters, digits, _), not the key itself`
        : `${args.property} must name the environment variable that holds the API key (or be left out for no key)`,
  );

/** `defaults`: generation parameters sent with every request to the model. */
export class GenerationDefaultsDto {
  @OptionalKey()
  @NumberFrom(0, 2)
  temperature?: number;

  @OptionalKey()
  @IsIntegerFrom(1)
  max_tokens?: number;

  @OptionalKey()
  @NumberFrom(0, 1)
  top_p?: number;
}

/** What every entry has. An entry of an unknown provider is checked as this alone (its other keys are not judged). */
export class ModelEntryDto {
  @IsModelName()
  name: string;

  @IsIn(PROVIDER_NAMES, { message: `provider must be one of ${PROVIDER_NAMES.join(', ')}` })
  provider: ProviderName;
}

/** `"provider": "offline"`: a deterministic echo, no network. */
export class OfflineEntryDto extends ModelEntryDto {
  @OptionalKey()
  @IsIntegerFrom(0)
  token_delay_ms?: number;
}

/** The fields every OpenAI-compatible entry (chat or embedding) connects with. */
export class ConnectionEntryDto extends ModelEntryDto {
  @OptionalKey()
  @IsIn(MODEL_TYPES, { message: `type must be one of ${MODEL_TYPES.join(', ')} (default chat)` })
  type?: string;

  @fieldCheck('nonEmpty', isNonBlankString, () => 'model (the upstream model id) must be a non-empty string')
  model: string;

  @fieldCheck(
    'httpUrl',
    (value) => typeof value === 'string' && isHttpUrl(value),
    (args) => `${args.property} must be an http(s) URL`,
  )
  base_url: string;

  /** Unset for a server that takes no key. */
  @OptionalKey()
  @IsEnvName()
  api_key_env?: string;

  @OptionalKey()
  @IsHeaders()
  headers?: Record<string, string>;

  @OptionalKey()
  @IsIntegerFrom(1)
  timeout_ms?: number;
}

/** A chat model of an OpenAI-compatible endpoint (`type` unset or `"chat"`). */
export class ChatEntryDto extends ConnectionEntryDto {
  @OptionalKey()
  @ValidateNested()
  @IsObject({ message: 'defaults must be an object' })
  @Type(() => GenerationDefaultsDto)
  defaults?: GenerationDefaultsDto;
}

/** `"type": "embedding"`: an OpenAI-compatible `/embeddings` endpoint. */
export class EmbeddingEntryDto extends ConnectionEntryDto {
  @OptionalKey()
  @IsIntegerFrom(1)
  dimensions?: number;

  @OptionalKey()
  @IsIntegerFrom(1)
  batch_size?: number;
}

/** The file's top level. The entries of `models` are checked one by one, each as the class its kind takes. */
export class ModelsFileDto {
  @OptionalKey()
  @IsString({ message: 'default must be a model name' })
  default?: string;

  @fieldCheck(
    'nonEmptyList',
    (value) => Array.isArray(value) && value.length > 0,
    () => 'models must be a non-empty list',
  )
  models: unknown[];

  @OptionalKey()
  @IsString({ message: 'embedding must name an embedding model' })
  embedding?: string;
}
