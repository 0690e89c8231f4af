/**
 * An `EmbeddingModel` over an OpenAI-compatible `/embeddings` endpoint
 * (OpenAI, vLLM, Ollama, LM Studio, …). One JSON request per call over the
 * provider's one HTTP transport (`sse-request.ts`), with the same error
 * mapping and timeout as chat completions. Nothing here retries: that is the
 * LLM service's job.
 */
import { type LlmError, llmError, toLlmError } from '../errors';
import type { EmbeddingModel, EmbedOptions, EmbedResult } from '../port';
import { isRecord } from '../util/is-record';
import { DEFAULT_TIMEOUT_MS, type OpenAICompatibleModelConfig } from './openai-compatible';
import { postForStream, readBody, type SseTarget, sseTarget } from './sse-request';
import { UpstreamCall } from './upstream-call';

/** The connection as for chat models (`OpenAICompatibleModelConfig`, timeouts included), plus the embedding options. */
export interface OpenAIEmbeddingModelConfig extends Omit<OpenAICompatibleModelConfig, 'defaults'> {
  /** Sent as `dimensions` when set. */
  dimensions?: number;
  /** Texts per request. Default 64. */
  batchSize?: number;
}

export const DEFAULT_EMBEDDING_BATCH_SIZE = 64;

export class OpenAIEmbeddingModel implements EmbeddingModel {
  readonly provider = 'openai';
  readonly name: string;
  readonly modelId: string;
  readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly dimensions?: number;
  private readonly target: SseTarget;

  constructor(config: OpenAIEmbeddingModelConfig) {
    this.name = config.name;
    this.modelId = config.model;
    this.batchSize = config.batchSize ?? DEFAULT_EMBEDDING_BATCH_SIZE;
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.dimensions = config.dimensions;
    const secrets = config.apiKey ? [config.apiKey] : [];
    this.target = sseTarget(
      config.baseUrl,
      config.apiKey,
      { Accept: 'application/json', ...config.headers },
      { model: this.name, secrets },
      'embeddings',
    );
  }

  async embed(options: EmbedOptions): Promise<EmbedResult> {
    const call = new UpstreamCall(this.name, this.timeoutMs, options.signal);
    try {
      const early = call.interruption();
      if (early) throw early;
      const body = { model: this.modelId, input: options.input, encoding_format: 'float', dimensions: this.dimensions };
      const res = await call.guard(() => postForStream(this.target, body, (close) => call.onClose(close)));
      const text = await call.guard(() => readBody(res));
      call.complete();
      return this.parse(text, options.input.length);
    } catch (err) {
      throw call.interruption() ?? toLlmError(err, this.target.errors);
    } finally {
      call.end();
    }
  }

  /** The vectors of a response, in the inputs' order (the `index` of each item). */
  private parse(text: string, count: number): EmbedResult {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.malformed('the response is not JSON');
    }
    if (!isRecord(json) || !Array.isArray(json.data)) throw this.malformed('the response has no "data" list');
    const embeddings: number[][] = new Array<number[]>(count);
    for (const [position, item] of json.data.entries()) {
      const index = isRecord(item) && Number.isInteger(item.index) ? (item.index as number) : position;
      const vector = isRecord(item) ? item.embedding : undefined;
      if (!Array.isArray(vector) || vector.length === 0 || !vector.every((v) => typeof v === 'number' && isFinite(v)))
        throw this.malformed(`item ${position} has no "embedding" list of numbers`);
      if (index < 0 || index >= count || embeddings[index]) throw this.malformed(`item ${position} has a bad index`);
      embeddings[index] = vector as number[];
    }
    if (json.data.length !== count) throw this.malformed(`${json.data.length} embeddings for ${count} inputs`);
    const dims = embeddings[0].length;
    if (embeddings.some((v) => v.length !== dims)) throw this.malformed('the embeddings differ in length');
    const usage = isRecord(json.usage) ? json.usage : undefined;
    const inputTokens = typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : undefined;
    return { model: this.name, embeddings, ...(inputTokens !== undefined && { inputTokens }) };
  }

  private malformed(reason: string): LlmError {
    return llmError('malformed_stream', `not an embeddings response: ${reason}`, this.target.errors);
  }
}
