/**
 * The models file (`MODELS_FILE`, see the README's Configuration): which
 * model names clients may send and how each maps to a provider and an
 * upstream model. Validated strictly at boot by the DTOs of
 * `models-config.dto.ts`; every problem is reported with the path of the key
 * at fault (`models[1].base_url`).
 */
import type { GenerationDefaults } from './providers/openai-compatible';
import { OFFLINE_MODEL_NAME } from './providers/offline';
import {
  ChatEntryDto,
  type ConnectionEntryDto,
  EmbeddingEntryDto,
  ModelEntryDto,
  ModelsFileDto,
  OfflineEntryDto,
} from './models-config.dto';
import { type Env, readJsonFile } from './util/config-file';
import { isRecord } from './util/is-record';
import { checkDto, type DtoCheck } from './util/validation';

export { PROVIDER_NAMES, type ProviderName } from './models-config.dto';

/** A model served by an OpenAI-compatible endpoint. */
export interface OpenAIModelConfig {
  provider: 'openai';
  name: string;
  /** Upstream model id. */
  model: string;
  baseUrl: string;
  /** Unset for a server that takes no key. */
  apiKeyEnv?: string;
  /** The key read from `apiKeyEnv` at load time. Never log it. */
  apiKey?: string;
  headers: Record<string, string>;
  timeoutMs?: number;
  defaults: GenerationDefaults;
}

/** An offline model (deterministic echo, no network). */
export interface OfflineModelConfig {
  provider: 'offline';
  name: string;
  tokenDelayMs?: number;
}

export type ModelConfig = OpenAIModelConfig | OfflineModelConfig;

/**
 * An embedding model (`"type": "embedding"`) served by an OpenAI-compatible
 * `/embeddings` endpoint. Not a chat model: clients cannot name it as `model`.
 */
export interface EmbeddingModelConfig extends Omit<OpenAIModelConfig, 'defaults'> {
  /** Sent as `dimensions` (models that can shorten their vectors); unset: the model's own size. */
  dimensions?: number;
  /** Texts sent per request. Default 64. */
  batchSize?: number;
}

export interface ModelsConfig {
  /** Name of the model used by the `default` strategy. */
  defaultModel: string;
  /** The configured chat models; the built-in offline model is not listed here. */
  models: ModelConfig[];
  /** The embedding model (the top-level `embedding`, else the first `"type": "embedding"` entry); none configured: undefined. */
  embedding?: EmbeddingModelConfig;
  /** Path of the models file; undefined when none was given. */
  source?: string;
}

/** The models file is invalid; `problems` lists each one. */
export class ModelsConfigError extends Error {
  override readonly name = 'ModelsConfigError';

  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid models file ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Reads and validates the models file at `path`. Without a path the
 * configuration holds no model and the default is the built-in offline model.
 */
export function loadModelsConfig(path: string | undefined, env: Env = process.env): ModelsConfig {
  if (!path) return { defaultModel: OFFLINE_MODEL_NAME, models: [] };
  const raw = readJsonFile(path, (problems) => new ModelsConfigError(path, problems));
  return parseModelsConfig(raw, env, path);
}

/** Validates the parsed content of a models file; `source` names it in errors. */
export function parseModelsConfig(raw: unknown, env: Env = process.env, source = 'models file'): ModelsConfig {
  if (!isRecord(raw)) throw new ModelsConfigError(source, ['the top level must be a JSON object']);
  const top = checkDto(ModelsFileDto, raw);
  const problems = top.problems;
  // Without entries there is nothing more to check (the DTO has said why).
  if (!Array.isArray(raw.models) || raw.models.length === 0) throw new ModelsConfigError(source, problems);

  const models: ModelConfig[] = [];
  const embeddings: EmbeddingModelConfig[] = [];
  const embeddingNames = new Set<string>();
  // Every entry with a valid name counts, valid or not: its own problems are reported once, not as a missing default.
  const firstIndexOf = new Map<string, number>();
  raw.models.forEach((entry: unknown, index: number) => {
    const checked = checkEntry(entry, `models[${index}]`, env);
    problems.push(...checked.problems);
    if (checked.name === undefined) return;
    const seen = firstIndexOf.get(checked.name);
    if (seen !== undefined) {
      problems.push(`models[${index}].name "${checked.name}" is also the name of models[${seen}]`);
      return;
    }
    firstIndexOf.set(checked.name, index);
    if (checked.embedding) embeddingNames.add(checked.name);
    if (checked.model) models.push(checked.model);
    if (checked.embedding && checked.embedding !== true) embeddings.push(checked.embedding);
  });

  const chatNames = [...firstIndexOf.keys()].filter((name) => !embeddingNames.has(name));
  // A `default` or `embedding` of the wrong type is already a problem of the file's DTO: only a name is checked here.
  const defaultModel: unknown = top.dto.default ?? chatNames[0] ?? OFFLINE_MODEL_NAME;
  if (typeof defaultModel === 'string' && embeddingNames.has(defaultModel)) {
    problems.push(`default names "${defaultModel}", an embedding model (the default must be a chat model)`);
  } else if (
    typeof defaultModel === 'string' &&
    defaultModel !== OFFLINE_MODEL_NAME &&
    !firstIndexOf.has(defaultModel)
  ) {
    problems.push(`default names "${defaultModel}", which is not the name of an entry of models`);
  }

  let embedding: EmbeddingModelConfig | undefined = embeddings[0];
  const embeddingName: unknown = top.dto.embedding;
  if (typeof embeddingName === 'string') {
    if (!embeddingNames.has(embeddingName))
      problems.push(`embedding names "${embeddingName}", which is not an entry of models with "type": "embedding"`);
    else embedding = embeddings.find((e) => e.name === embeddingName);
  }

  if (problems.length > 0) throw new ModelsConfigError(source, problems);
  return { defaultModel: defaultModel as string, models, source, ...(embedding && { embedding }) };
}

interface CheckedEntry {
  /** The entry's name when it is a valid one, even if the rest of the entry is not. */
  name?: string;
  /** The entry, when it is a chat model with no problem. */
  model?: ModelConfig;
  /** An embedding entry: the entry when it has no problem, else `true`. */
  embedding?: EmbeddingModelConfig | true;
  problems: string[];
}

/** Checks one entry of `models` as the class its `provider` and `type` take, and converts it. */
function checkEntry(entry: unknown, where: string, env: Env): CheckedEntry {
  if (!isRecord(entry)) return { problems: [`${where} must be an object`] };
  if (entry.provider === 'offline') {
    const checked = checkDto(OfflineEntryDto, entry, where);
    const { dto, problems } = checked;
    const name = validName(checked);
    if (problems.length > 0 || name === undefined) return { name, problems };
    return { name, problems, model: { provider: 'offline', name, tokenDelayMs: dto.token_delay_ms } };
  }
  if (entry.provider !== 'openai') {
    const checked = checkDto(ModelEntryDto, entry, where, false);
    return { name: validName(checked), problems: checked.problems };
  }
  if (entry.type === 'embedding') {
    const checked = checkDto(EmbeddingEntryDto, entry, where);
    const { dto, problems } = checked;
    const name = validName(checked);
    const connection = toConnection(checked, env, where);
    if (problems.length > 0 || name === undefined) return { name, problems, embedding: true };
    return {
      name,
      problems,
      embedding: { provider: 'openai', name, ...connection, dimensions: dto.dimensions, batchSize: dto.batch_size },
    };
  }
  const checked = checkDto(ChatEntryDto, entry, where);
  const { dto, problems } = checked;
  const name = validName(checked);
  const connection = toConnection(checked, env, where);
  if (problems.length > 0 || name === undefined) return { name, problems };
  const defaults: GenerationDefaults = dto.defaults
    ? { temperature: dto.defaults.temperature, maxTokens: dto.defaults.max_tokens, topP: dto.defaults.top_p }
    : {};
  return { name, problems, model: { provider: 'openai', name, ...connection, defaults } };
}

/** The entry's name, when it is a valid one (even if the rest of the entry is not). */
function validName({ dto, faultAt }: DtoCheck<ModelEntryDto>): string | undefined {
  return faultAt('name') ? undefined : dto.name;
}

/**
 * The connection of a checked OpenAI-compatible entry, its key read from the
 * environment variable `api_key_env` names (none without `api_key_env`: a
 * server that takes no key). A variable that is not set is a problem of the entry.
 */
function toConnection({ dto, problems, faultAt }: DtoCheck<ConnectionEntryDto>, env: Env, where: string) {
  const keyEnv = dto.api_key_env !== undefined && !faultAt('api_key_env') ? dto.api_key_env : undefined;
  const apiKey = keyEnv !== undefined ? env[keyEnv] : undefined;
  if (keyEnv !== undefined && !apiKey) problems.push(`${where}.api_key_env: environment variable ${keyEnv} is not set`);
  return {
    model: dto.model,
    baseUrl: dto.base_url,
    ...(keyEnv !== undefined && apiKey && { apiKeyEnv: keyEnv, apiKey }),
    headers: dto.headers ?? {},
    timeoutMs: dto.timeout_ms,
  };
}
