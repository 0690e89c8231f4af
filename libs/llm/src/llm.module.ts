/**
 * Nest wiring: provides the `ModelRegistry` and the `LlmService` (also as
 * `LLM_PORT`). The server passes its validated configuration in; the library
 * does not depend on the server.
 */
import { type DynamicModule, type FactoryProvider, Logger, type ModuleMetadata, type Provider } from '@nestjs/common';
import { LlmService } from './llm.service';
import { ModelRegistry } from './registry';
import type { StrategyOptions } from './strategy';

/** Injection token of the `LlmPort` (the `LlmService`). */
export const LLM_PORT = Symbol('LLM_PORT');
/** Injection token of the resolved `LlmModuleOptions`. */
export const LLM_MODULE_OPTIONS = Symbol('LLM_MODULE_OPTIONS');

export interface LlmModuleOptions {
  /** Path of the models file (`MODELS_FILE`, README "Configuration"); unset → the offline model only. */
  modelsFile?: string;
  /** Where `api_key_env` variables are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Retry and backoff settings of the strategy. */
  strategy?: Partial<StrategyOptions>;
  /** A ready registry (tests); `modelsFile` and `env` are then ignored. */
  registry?: ModelRegistry;
}

export interface LlmModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: FactoryProvider<LlmModuleOptions | Promise<LlmModuleOptions>>['useFactory'];
  inject?: FactoryProvider['inject'];
  /** Register globally, so feature modules need not import `LlmModule`. */
  isGlobal?: boolean;
}

export class LlmModule {
  static forRoot(options: LlmModuleOptions & { isGlobal?: boolean } = {}): DynamicModule {
    const { isGlobal, ...moduleOptions } = options;
    return LlmModule.create([{ provide: LLM_MODULE_OPTIONS, useValue: moduleOptions }], [], isGlobal);
  }

  static forRootAsync(options: LlmModuleAsyncOptions): DynamicModule {
    const optionsProvider: Provider = {
      provide: LLM_MODULE_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    };
    return LlmModule.create([optionsProvider], options.imports ?? [], options.isGlobal);
  }

  private static create(
    optionsProviders: Provider[],
    imports: ModuleMetadata['imports'],
    isGlobal = false,
  ): DynamicModule {
    return {
      module: LlmModule,
      global: isGlobal,
      imports,
      providers: [
        ...optionsProviders,
        { provide: ModelRegistry, useFactory: createRegistry, inject: [LLM_MODULE_OPTIONS] },
        {
          provide: LlmService,
          useFactory: (registry: ModelRegistry, options: LlmModuleOptions) =>
            new LlmService(registry, options.strategy),
          inject: [ModelRegistry, LLM_MODULE_OPTIONS],
        },
        { provide: LLM_PORT, useExisting: LlmService },
      ],
      exports: [ModelRegistry, LlmService, LLM_PORT],
    };
  }
}

function createRegistry(options: LlmModuleOptions): ModelRegistry {
  const registry = options.registry ?? ModelRegistry.fromFile(options.modelsFile, options.env ?? process.env);
  const logger = new Logger(LlmModule.name);
  if (registry.usingOfflineOnly) {
    logger.warn(
      `No model configured; using the offline model "${registry.defaultModelName}" (set MODELS_FILE to use a real LLM)`,
    );
  } else {
    const models = registry.list().map((m) => `${m.name} (${m.provider}: ${m.model})`);
    logger.log(`Models: ${models.join(', ')}; default ${registry.defaultModelName}`);
  }
  const embedding = registry.embeddingModel;
  if (embedding) logger.log(`Embedding model: ${embedding.name} (${embedding.provider}: ${embedding.modelId})`);
  return registry;
}
