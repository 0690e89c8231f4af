/**
 * A `LanguageModel` over any server that speaks OpenAI's chat-completions API
 * (OpenAI, vLLM, Ollama, LM Studio, DeepSeek, …). Every call is one streamed
 * request over this provider's own HTTP transport (`sse-request.ts`);
 * `generate()` collects that stream. Failures become `LlmError`s here.
 * Retries are the LLM service's job, so nothing here retries.
 */
import { type LlmError, llmError, toLlmError } from '../errors';
import type { FinishReason, GenerateResult, LanguageModel, LlmCallOptions, StreamPart, Usage } from '../port';
import { batchedStream, type PartBatch } from '../util/batches';
import { collectStream } from '../util/collect';
import { isRecord } from '../util/is-record';
import { postForStream, SseTarget, sseEvents, sseTarget } from './sse-request';
import { streamEventError } from './upstream-errors';
import { UpstreamCall } from './upstream-call';

/** Generation settings applied when a call does not set them. */
export interface GenerationDefaults {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
}

export interface OpenAICompatibleModelConfig {
  /** Registry name, what clients send as `model`. */
  name: string;
  /** Upstream model id, e.g. `gpt-4o-mini`. */
  model: string;
  /** e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Sent as a bearer token; unset for servers that take no key (no Authorization header). */
  apiKey?: string;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Longest wait for the upstream: for the response, the first chunk, and each next chunk. Default 60 s. */
  timeoutMs?: number;
  defaults?: GenerationDefaults;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/** The parts of a chat completion chunk this provider reads (OpenAI's wire names). */
interface CompletionChunk {
  choices: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: WireUsage | null;
  error?: unknown;
}

interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export class OpenAICompatibleModel implements LanguageModel {
  readonly provider = 'openai';
  readonly name: string;
  readonly modelId: string;
  private readonly timeoutMs: number;
  private readonly defaults: GenerationDefaults;
  private readonly sse: SseTarget;

  constructor(config: OpenAICompatibleModelConfig) {
    this.name = config.name;
    this.modelId = config.model;
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.defaults = config.defaults ?? {};
    const secrets = config.apiKey ? [config.apiKey] : [];
    this.sse = sseTarget(config.baseUrl, config.apiKey, config.headers, { model: this.name, secrets });
  }

  /** The answer's parts; batched (see `partBatches`) one batch per network read of the upstream's response. */
  stream(options: LlmCallOptions): AsyncIterable<StreamPart> {
    return batchedStream(this.run(options));
  }

  /** `stream()` collected. */
  generate(options: LlmCallOptions): Promise<GenerateResult> {
    return collectStream(this.stream(options), this.name);
  }

  private async *run(options: LlmCallOptions): AsyncGenerator<PartBatch> {
    yield [{ type: 'start', model: this.name }];
    const call = new UpstreamCall(this.name, this.timeoutMs, options.signal);
    try {
      const early = call.interruption();
      if (early) {
        yield [{ type: 'error', error: early }];
        return;
      }
      yield* this.streamCompletion(options, call);
    } catch (err) {
      yield [{ type: 'error', error: call.interruption() ?? toLlmError(err, this.sse.errors) }];
    } finally {
      call.end();
    }
  }

  /**
   * The SSE response, one batch per network read: the text of every chunk
   * that read completed, in order. The last read's text goes out with the
   * `finish` part; a failure goes out after the text read before it.
   */
  private async *streamCompletion(options: LlmCallOptions, call: UpstreamCall): AsyncGenerator<PartBatch> {
    const body = { ...this.requestBody(options), stream: true, stream_options: { include_usage: true } };
    const res = await call.guard(() => postForStream(this.sse, body, (close) => call.onClose(close)));
    const nextEvents = sseEvents(res);
    let finishReason: FinishReason | undefined;
    let usage: Usage | undefined;
    let done = false;
    // The text of the read that ended the stream, sent with the finish part.
    let tail: StreamPart[] = [];
    try {
      while (!done) {
        let events: Awaited<ReturnType<typeof nextEvents>>;
        try {
          events = await call.guard(nextEvents);
        } catch (err) {
          // A connection lost after the finish reason costs only the usage report.
          if (finishReason && !call.interruption()) break;
          throw err;
        }
        if (!events) break;
        const batch: StreamPart[] = [];
        try {
          for (const event of events) {
            if (event.data === '[DONE]') {
              done = true;
              break;
            }
            const chunk = this.checkChunk(JSON.parse(event.data));
            if (chunk.error) throw streamEventError(chunk, this.sse.errors);
            if (chunk.usage) usage = mapUsage(chunk.usage);
            const choice = chunk.choices[0];
            if (choice?.delta?.content) batch.push({ type: 'text-delta', text: choice.delta.content });
            if (choice?.finish_reason) finishReason = mapFinishReason(choice.finish_reason);
          }
        } catch (err) {
          // What this read completed before the bad chunk still goes out.
          if (batch.length) yield batch;
          throw err;
        }
        if (done) tail = batch;
        else if (batch.length) yield batch;
      }
    } finally {
      // Stopped early (an error, or the consumer left): close the body before the call's abort reaches it.
      if (!done) res.destroy();
    }
    const failure =
      call.interruption() ?? (finishReason ? undefined : this.malformed('the stream ended before a finish reason'));
    if (failure) {
      if (tail.length) yield tail;
      throw failure;
    }
    call.complete();
    // The body was read to its end (or to [DONE]): drain it so the socket goes back to the pool.
    res.resume();
    tail.push(finishPart(finishReason!, usage));
    yield tail;
  }

  private requestBody(options: LlmCallOptions) {
    return {
      model: this.modelId,
      messages: options.messages.map(({ role, content }) => ({ role, content })),
      temperature: options.temperature ?? this.defaults.temperature,
      max_tokens: options.maxTokens ?? this.defaults.maxTokens,
      top_p: options.topP ?? this.defaults.topP,
      stop: options.stop?.length ? options.stop : undefined,
    };
  }

  private checkChunk(value: unknown): CompletionChunk {
    if (isRecord(value) && isRecord(value.error)) return { choices: [], error: value.error };
    if (isRecord(value) && Array.isArray(value.choices)) return value as unknown as CompletionChunk;
    throw this.malformed('a stream chunk has no "choices" list');
  }

  private malformed(reason: string): LlmError {
    return llmError('malformed_stream', reason, this.sse.errors);
  }
}

function finishPart(finishReason: FinishReason, usage: Usage | undefined): StreamPart {
  return usage ? { type: 'finish', finishReason, usage } : { type: 'finish', finishReason };
}

function mapFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content-filter';
    default:
      return 'other';
  }
}

function mapUsage(usage: WireUsage): Usage {
  const inputTokens = usage.prompt_tokens ?? 0;
  const outputTokens = usage.completion_tokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: usage.total_tokens ?? inputTokens + outputTokens };
}
