/**
 * The models clients may name: built from the models file, always including
 * the built-in offline model, with one default.
 */
import { LlmError } from './errors';
import { type EmbeddingModelConfig, loadModelsConfig, type ModelConfig, type ModelsConfig } from './models-config';
import { createOfflineModel, OFFLINE_MODEL_NAME } from './providers/offline';
import { OpenAICompatibleModel } from './providers/openai-compatible';
import { OpenAIEmbeddingModel } from './providers/openai-embeddings';
import type { EmbeddingModel, LanguageModel } from './port';

/** One configured model as listed to clients (`GET /api/v2/models`). */
export interface ModelInfo {
  /** What clients send as `model`. */
  name: string;
  provider: string;
  /** The upstream model id (the name itself for offline models). */
  model: string;
  isDefault: boolean;
}

type Env = Record<string, string | undefined>;

export class ModelRegistry {
  private readonly models: ReadonlyMap<string, LanguageModel>;

  private constructor(
    models: readonly LanguageModel[],
    /** Name of the model used by the `default` strategy. */
    readonly defaultModelName: string,
    /** The embedding model (knowledge spaces' vectors); undefined when none is configured. */
    readonly embeddingModel?: EmbeddingModel,
  ) {
    const byName = new Map<string, LanguageModel>();
    for (const model of models) {
      if (byName.has(model.name)) throw new Error(`duplicate model name "${model.name}"`);
      byName.set(model.name, model);
    }
    if (!byName.has(defaultModelName))
      throw new Error(`the default model "${defaultModelName}" is not in the registry`);
    this.models = byName;
  }

  /** Reads the models file (see `loadModelsConfig`); no path → the offline model only. */
  static fromFile(path: string | undefined, env: Env = process.env): ModelRegistry {
    return ModelRegistry.fromConfig(loadModelsConfig(path, env));
  }

  /** Builds every configured model, plus the built-in offline model unless the file redefines its name. */
  static fromConfig(config: ModelsConfig): ModelRegistry {
    const models = config.models.map(createModel);
    if (!config.models.some((m) => m.name === OFFLINE_MODEL_NAME)) models.push(createOfflineModel());
    return new ModelRegistry(models, config.defaultModel, config.embedding && createEmbeddingModel(config.embedding));
  }

  /** A registry of exactly these models (for tests); the default is the first unless named. */
  static fromModels(
    models: readonly LanguageModel[],
    defaultName = models[0]?.name ?? '',
    embeddingModel?: EmbeddingModel,
  ): ModelRegistry {
    return new ModelRegistry(models, defaultName, embeddingModel);
  }

  /** The model called `name`; throws `LlmError('unknown_model')` naming it. */
  get(name: string): LanguageModel {
    const model = this.models.get(name);
    if (!model) {
      throw new LlmError(
        'unknown_model',
        `unknown model "${name}"; configured models: ${[...this.models.keys()].join(', ')}`,
        {
          model: name,
        },
      );
    }
    return model;
  }

  /** Exact-name lookup. */
  has(name: string): boolean {
    return this.models.has(name);
  }

  get defaultModel(): LanguageModel {
    return this.get(this.defaultModelName);
  }

  /** True when no model reaches a real LLM: the server then says it runs on the offline model. */
  get usingOfflineOnly(): boolean {
    return [...this.models.values()].every((m) => m.provider === 'offline');
  }

  list(): ModelInfo[] {
    return [...this.models.values()].map((m) => ({
      name: m.name,
      provider: m.provider,
      model: m.modelId ?? m.name,
      isDefault: m.name === this.defaultModelName,
    }));
  }
}

function createModel(config: ModelConfig): LanguageModel {
  if (config.provider === 'offline') return createOfflineModel(config.name, { tokenDelayMs: config.tokenDelayMs });
  return new OpenAICompatibleModel({
    name: config.name,
    model: config.model,
    baseUrl: config.baseUrl,
    apiKey: config.apiKey,
    headers: config.headers,
    timeoutMs: config.timeoutMs,
    defaults: config.defaults,
  });
}

function createEmbeddingModel(config: EmbeddingModelConfig): EmbeddingModel {
  return new OpenAIEmbeddingModel({
    name: config.name,
    model: config.model,
    baseUrl: config.baseUrl,
    apiKey: config.apiKey,
    headers: config.headers,
    timeoutMs: config.timeoutMs,
    dimensions: config.dimensions,
    batchSize: config.batchSize,
  });
}
