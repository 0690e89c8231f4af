/**
 * The models file (`MODELS_FILE`, see the README's Configuration): which
 * model names clients may send and how each maps to a provider and an
 * upstream model. Validated strictly at boot; every problem is reported with
 * the entry it is about.
 */
import { readFileSync } from 'node:fs';
import type { GenerationDefaults } from './providers/openai-compatible';
import { OFFLINE_MODEL_NAME } from './providers/offline';
import { ENV_NAME, type Env, HEADER_NAME, isHttpUrl, unknownKeys } from './util/config-file';
import { isRecord } from './util/is-record';

export const PROVIDER_NAMES = ['openai', 'offline'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

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
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelsConfigError(path, [`cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelsConfigError(path, [`not valid JSON (${(err as Error).message})`]);
  }
  return parseModelsConfig(raw, env, path);
}

const TOP_LEVEL_KEYS = ['default', 'models', 'embedding'];
/** Keys of every OpenAI-compatible entry, chat or embedding (`checkConnection` and the entry's own). */
const CONNECTION_KEYS = ['name', 'provider', 'type', 'model', 'base_url', 'api_key_env', 'headers', 'timeout_ms'];
const OPENAI_KEYS = [...CONNECTION_KEYS, 'defaults'];
const EMBEDDING_KEYS = [...CONNECTION_KEYS, 'dimensions', 'batch_size'];
const MODEL_TYPES = ['chat', 'embedding'];
const OFFLINE_KEYS = ['name', 'provider', 'token_delay_ms'];
const DEFAULTS_KEYS = ['temperature', 'max_tokens', 'top_p'];

/** Validates the parsed content of a models file; `source` names it in errors. */
export function parseModelsConfig(raw: unknown, env: Env = process.env, source = 'models file'): ModelsConfig {
  const problems: string[] = [];
  if (!isRecord(raw)) throw new ModelsConfigError(source, ['the top level must be a JSON object']);
  problems.push(...unknownKeys(raw, TOP_LEVEL_KEYS, 'the top level'));
  if (!Array.isArray(raw.models) || raw.models.length === 0) {
    throw new ModelsConfigError(source, [...problems, '"models" must be a non-empty list']);
  }

  const models: ModelConfig[] = [];
  const embeddings: EmbeddingModelConfig[] = [];
  const embeddingNames = new Set<string>();
  // Every entry with a usable name counts, valid or not: its own problems are reported once, not as a missing default.
  const firstIndexOf = new Map<string, number>();
  raw.models.forEach((entry: unknown, index: number) => {
    const checked = checkEntry(entry, index, env);
    problems.push(...checked.problems);
    if (checked.name === undefined) return;
    const seen = firstIndexOf.get(checked.name);
    if (seen !== undefined) {
      problems.push(`${label(entry, index)}: duplicate name (also models[${seen}])`);
      return;
    }
    firstIndexOf.set(checked.name, index);
    if (checked.embedding) embeddingNames.add(checked.name);
    if (checked.model) models.push(checked.model);
    if (checked.embedding && checked.embedding !== true) embeddings.push(checked.embedding);
  });

  const chatNames = [...firstIndexOf.keys()].filter((name) => !embeddingNames.has(name));
  const defaultModel = raw.default ?? chatNames[0] ?? OFFLINE_MODEL_NAME;
  if (raw.default !== undefined && typeof raw.default !== 'string') {
    problems.push('"default" must be a model name');
  } else if (typeof defaultModel === 'string' && embeddingNames.has(defaultModel)) {
    problems.push(`"default" names "${defaultModel}", an embedding model (the default must be a chat model)`);
  } else if (
    typeof defaultModel === 'string' &&
    defaultModel !== OFFLINE_MODEL_NAME &&
    !firstIndexOf.has(defaultModel)
  ) {
    problems.push(`"default" names "${defaultModel}", which is not in "models"`);
  }

  let embedding: EmbeddingModelConfig | undefined = embeddings[0];
  if (raw.embedding !== undefined) {
    if (typeof raw.embedding !== 'string') problems.push('"embedding" must name an embedding model');
    else if (!embeddingNames.has(raw.embedding))
      problems.push(`"embedding" names "${raw.embedding}", which is not an entry of "models" with "type": "embedding"`);
    else embedding = embeddings.find((e) => e.name === raw.embedding);
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

function checkEntry(entry: unknown, index: number, env: Env): CheckedEntry {
  const where = label(entry, index);
  if (!isRecord(entry)) return { problems: [`${where}: must be an object`] };
  const problems: string[] = [];
  const fail = (message: string) => problems.push(`${where}: ${message}`);

  let name: string | undefined;
  if (typeof entry.name !== 'string' || entry.name.trim() === '') fail('name must be a non-empty string');
  else if (entry.name !== entry.name.trim() || entry.name.includes(','))
    fail('name must not contain commas or surrounding spaces');
  else name = entry.name;

  if (entry.provider === 'offline') {
    problems.push(...unknownKeys(entry, OFFLINE_KEYS, where));
    const tokenDelayMs = optionalInteger(entry, 'token_delay_ms', 0, fail);
    return problems.length > 0 || name === undefined
      ? { name, problems }
      : { name, problems, model: { provider: 'offline', name, tokenDelayMs } };
  }
  if (entry.provider !== 'openai') {
    fail(`provider must be one of ${PROVIDER_NAMES.join(', ')}`);
    return { name, problems };
  }
  if (entry.type !== undefined && !MODEL_TYPES.includes(entry.type as string))
    fail(`type must be one of ${MODEL_TYPES.join(', ')} (default chat)`);
  if (entry.type === 'embedding') return checkEmbeddingEntry(entry, name, where, env, problems);

  problems.push(...unknownKeys(entry, OPENAI_KEYS, where));
  const connection = checkConnection(entry, env, fail);
  const defaults = checkDefaults(entry.defaults, fail);
  if (problems.length > 0 || name === undefined) return { name, problems };
  return { name, problems, model: { provider: 'openai', name, ...connection, defaults } };
}

/** The fields every OpenAI-compatible entry (chat or embedding) connects with, checked. */
function checkConnection(entry: Record<string, unknown>, env: Env, fail: (message: string) => void) {
  if (typeof entry.model !== 'string' || entry.model.trim() === '')
    fail('model (the upstream model id) must be a non-empty string');
  if (typeof entry.base_url !== 'string' || !isHttpUrl(entry.base_url)) fail('base_url must be an http(s) URL');
  const apiKey = checkApiKeyEnv(entry.api_key_env, env, fail);
  const headers = checkHeaders(entry.headers, fail);
  const timeoutMs = optionalInteger(entry, 'timeout_ms', 1, fail);
  return {
    model: entry.model as string,
    baseUrl: entry.base_url as string,
    ...(apiKey !== undefined && { apiKeyEnv: entry.api_key_env as string, apiKey }),
    headers,
    timeoutMs,
  };
}

function checkEmbeddingEntry(
  entry: Record<string, unknown>,
  name: string | undefined,
  where: string,
  env: Env,
  problems: string[],
): CheckedEntry {
  const fail = (message: string) => problems.push(`${where}: ${message}`);
  problems.push(...unknownKeys(entry, EMBEDDING_KEYS, where));
  const connection = checkConnection(entry, env, fail);
  const dimensions = optionalInteger(entry, 'dimensions', 1, fail);
  const batchSize = optionalInteger(entry, 'batch_size', 1, fail);
  if (problems.length > 0 || name === undefined) return { name, problems, embedding: true };
  return { name, problems, embedding: { provider: 'openai', name, ...connection, dimensions, batchSize } };
}

/** The key named by `api_key_env`; none when the entry has no `api_key_env` (a server that takes no key). */
function checkApiKeyEnv(value: unknown, env: Env, fail: (m: string) => void): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    fail('api_key_env must name the environment variable that holds the API key (or be left out for no key)');
    return undefined;
  }
  // Never echo the value: a key pasted here by mistake must not reach the logs.
  if (!ENV_NAME.test(value)) {
    fail('api_key_env must be an environment variable name (letters, digits, _), not the key itself');
    return undefined;
  }
  const key = env[value];
  if (!key) fail(`environment variable ${value} (api_key_env) is not set`);
  return key;
}

function checkHeaders(value: unknown, fail: (m: string) => void): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    fail('headers must be an object of strings');
    return {};
  }
  for (const [key, headerValue] of Object.entries(value)) {
    if (!HEADER_NAME.test(key)) fail(`headers: "${key}" is not a valid header name`);
    if (typeof headerValue !== 'string') fail(`headers: the value of "${key}" must be a string`);
  }
  return value as Record<string, string>;
}

function checkDefaults(value: unknown, fail: (m: string) => void): GenerationDefaults {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    fail('defaults must be an object');
    return {};
  }
  unknownKeys(value, DEFAULTS_KEYS, 'defaults').forEach(fail);
  const inRange = (key: string, min: number, max: number) => {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !(v >= min && v <= max))
      fail(`defaults.${key} must be a number from ${min} to ${max}`);
    return v as number;
  };
  return {
    temperature: inRange('temperature', 0, 2),
    maxTokens: optionalInteger(value, 'max_tokens', 1, (m) => fail(`defaults.${m}`)),
    topP: inRange('top_p', 0, 1),
  };
}

function optionalInteger(
  record: Record<string, unknown>,
  key: string,
  min: number,
  fail: (m: string) => void,
): number | undefined {
  const v = record[key];
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) < min) {
    fail(`${key} must be an integer of at least ${min}`);
    return undefined;
  }
  return v as number;
}

function label(entry: unknown, index: number): string {
  const name = isRecord(entry) && typeof entry.name === 'string' ? ` ("${entry.name}")` : '';
  return `models[${index}]${name}`;
}
