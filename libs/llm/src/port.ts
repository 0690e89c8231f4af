/**
 * The LLM port: the one small, data-only interface through which agents and
 * plain chats talk to a language model. Modelled on the Vercel AI SDK's
 * LanguageModel spec: `stream()` yields a tagged union of parts, `generate()`
 * is built on the same path. Nothing here knows about agents or HTTP.
 */
import type { LlmError } from './errors';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'content-filter' | 'error' | 'other';

/** Options of one call to one model. */
export interface LlmCallOptions {
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  /** Every provider honours it: aborting closes the upstream connection at once. */
  signal?: AbortSignal;
}

/**
 * Parts of a stream. Errors (including an abort, code `aborted`) arrive as one
 * final `error` part; the iterator itself never throws. A successful stream is
 * `start`, zero or more `text-delta`, then `finish`.
 *
 * A `LanguageModel` always emits `start` first. The `LlmPort` emits `start`
 * once a model answers (its first text or finish), naming that model; when no
 * model answers, its stream is a single `error` part. An error after text is
 * passed on as is: text already streamed is never retried elsewhere.
 */
export type StreamPart =
  | { type: 'start'; model: string }
  | { type: 'text-delta'; text: string }
  | { type: 'finish'; finishReason: FinishReason; usage?: Usage }
  | { type: 'error'; error: LlmError };

export interface GenerateResult {
  /** Registry name of the model that answered. */
  model: string;
  text: string;
  finishReason: FinishReason;
  usage?: Usage;
}

/** One configured model (a provider bound to an upstream model id). */
export interface LanguageModel {
  /** Registry name, what clients send as `model` (e.g. `chatgpt_proxyllm`). */
  readonly name: string;
  /** `openai` or `offline`. */
  readonly provider: string;
  /** The upstream model id, when it differs from `name` (e.g. `gpt-4o-mini`). */
  readonly modelId?: string;
  stream(options: LlmCallOptions): AsyncIterable<StreamPart>;
  generate(options: LlmCallOptions): Promise<GenerateResult>;
}

/** Which model(s) a call may use (libs/llm/README.md, "Strategy"). */
export type LlmStrategy = { type: 'default' } | { type: 'priority'; models: string[] };

export interface LlmRequest extends LlmCallOptions {
  /** An explicit registry name; wins over `strategy` when given. */
  model?: string;
  /** Defaults to `{ type: 'default' }`. */
  strategy?: LlmStrategy;
}

/**
 * What agents and the chat module call. Resolves the model by name or
 * strategy, retries and falls back (libs/llm/README.md, "Strategy"), and
 * reports which model answered in the `start` part (exactly one `start`,
 * before any text).
 */
export interface LlmPort {
  stream(request: LlmRequest): AsyncIterable<StreamPart>;
  generate(request: LlmRequest): Promise<GenerateResult>;
}

/** One call to an embedding model: the texts to embed, in order. */
export interface EmbedOptions {
  input: string[];
  /** Aborting closes the upstream connection at once. */
  signal?: AbortSignal;
}

export interface EmbedResult {
  /** Registry name of the embedding model. */
  model: string;
  /** One vector per input, in the inputs' order. */
  embeddings: number[][];
  /** Tokens the upstream counted, when it reports them. */
  inputTokens?: number;
}

/** One configured embedding model (an OpenAI-compatible `/embeddings` endpoint). */
export interface EmbeddingModel {
  readonly name: string;
  readonly provider: string;
  readonly modelId: string;
  /** Texts it takes per request; callers split longer lists. */
  readonly batchSize: number;
  /** One request; failures are thrown as `LlmError`s; never retries. */
  embed(options: EmbedOptions): Promise<EmbedResult>;
}

/**
 * Embeddings as the knowledge module sees them: the configured embedding
 * model (if any), called with the same retry rules as chat models.
 */
export interface EmbeddingPort {
  /** The configured embedding model's name; undefined when there is none. */
  readonly embeddingModel: string | undefined;
  /** The configured model's texts per request (see `EmbeddingModel.batchSize`). */
  readonly embeddingBatchSize: number;
  /** Throws `LlmError` (`unknown_model` when no embedding model is configured). */
  embed(options: EmbedOptions): Promise<EmbedResult>;
}
