export * from './port';
export { LLM_ERROR_CODES, LlmError, retryAfterMs, scrubSecrets, toLlmError } from './errors';
export type { LlmErrorCode, LlmErrorDetails, ToLlmErrorContext } from './errors';
export { loadModelsConfig, ModelsConfigError, parseModelsConfig, PROVIDER_NAMES } from './models-config';
export type {
  EmbeddingModelConfig,
  ModelConfig,
  ModelsConfig,
  OfflineModelConfig,
  OpenAIModelConfig,
  ProviderName,
} from './models-config';
export { ENV_NAME, HEADER_NAME, isHttpUrl, readJsonFile } from './util/config-file';
export { isRecord } from './util/is-record';
export {
  checkDto,
  fieldCheck,
  flattenValidationErrors,
  IsIntegerFrom,
  isNonBlankString,
  OptionalKey,
  quickChecks,
} from './util/validation';
export type { DtoCheck, ValidationFailure } from './util/validation';
export type { Env } from './util/config-file';
export { ModelRegistry } from './registry';
export type { ModelInfo } from './registry';
export { DEFAULT_STRATEGY_OPTIONS } from './strategy';
export type { StrategyOptions } from './strategy';
export { LlmService } from './llm.service';
export type { LlmServiceOptions } from './llm.service';
export { LLM_MODULE_OPTIONS, LLM_PORT, LlmModule } from './llm.module';
export type { LlmModuleAsyncOptions, LlmModuleOptions } from './llm.module';
export { DEFAULT_TIMEOUT_MS, OpenAICompatibleModel } from './providers/openai-compatible';
export type { GenerationDefaults, OpenAICompatibleModelConfig } from './providers/openai-compatible';
export { DEFAULT_EMBEDDING_BATCH_SIZE, OpenAIEmbeddingModel } from './providers/openai-embeddings';
export type { OpenAIEmbeddingModelConfig } from './providers/openai-embeddings';
export {
  createOfflineModel,
  createScriptedModel,
  DEFAULT_OFFLINE_TOKEN_DELAY_MS,
  OFFLINE_MODEL_NAME,
  OfflineModel,
  offlineReply,
} from './providers/offline';
export type { OfflineModelOptions, Script, ScriptedReply } from './providers/offline';
export { collectStream } from './util/collect';
export { batchedStream, partBatches } from './util/batches';
export { tokenCounter } from './util/tokens';
export type { TokenCounter } from './util/tokens';
export type { PartBatch } from './util/batches';
