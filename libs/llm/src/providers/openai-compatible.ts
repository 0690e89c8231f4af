/**
 * A `LanguageModel` over any server that speaks OpenAI's chat-completions API
 * (OpenAI, vLLM, Ollama, LM Studio, DeepSeek, …). Non-stream calls go
 * through the official `openai` SDK; streams through node:http and
 * `eventsource-parser` (the SDK's stream decoder costs tens of microseconds
 * a chunk), with failures raised as the SDK's error classes so both map the
 * same way. Retries are the strategy's job, so nothing here retries.
 */
import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { LlmError, toLlmError } from '../errors';
import type {
  FinishReason,
  GenerateResult,
  LanguageModel,
  LlmCallOptions,
  PartBatch,
  StreamPart,
  Usage,
} from '../port';
import { flattenBatches } from '../util/batches';
import { collectStream } from '../util/collect';
import { isRecord } from '../util/is-record';
import { postForStream, SseTarget, sseEvents, sseTarget, streamError } from './sse-request';
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
  apiKey: string;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Longest wait for the upstream: for the response, the first chunk, and each next chunk. Default 60 s. */
  timeoutMs?: number;
  defaults?: GenerationDefaults;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

type RequestBody = Omit<ChatCompletionCreateParamsBase, 'stream' | 'stream_options'>;

export class OpenAICompatibleModel implements LanguageModel {
  readonly provider = 'openai';
  readonly name: string;
  readonly modelId: string;
  private readonly client: OpenAI;
  private readonly timeoutMs: number;
  private readonly defaults: GenerationDefaults;
  private readonly secrets: string[];
  /** Streams go over node:http with eventsource-parser (one linear pass); non-stream calls over the SDK. */
  private readonly sse: SseTarget;

  constructor(config: OpenAICompatibleModelConfig) {
    this.name = config.name;
    this.modelId = config.model;
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.defaults = config.defaults ?? {};
    this.secrets = [config.apiKey];
    this.sse = sseTarget(config.baseUrl, config.apiKey, config.headers);
    this.client = new OpenAI({
      baseURL: config.baseUrl,
      apiKey: config.apiKey,
      defaultHeaders: config.headers,
      timeout: this.timeoutMs,
      maxRetries: 0,
      // Only the models file configures a model: ignore OPENAI_ORG_ID / OPENAI_PROJECT_ID.
      organization: null,
      project: null,
      // Failures surface as typed error parts; the SDK must not write to the console.
      logLevel: 'off',
    });
  }

  stream(options: LlmCallOptions): AsyncIterable<StreamPart> {
    return flattenBatches(this.streamBatches(options));
  }

  /** The stream's parts, one batch per network read of the upstream's response. */
  streamBatches(options: LlmCallOptions): AsyncIterable<PartBatch> {
    return this.run(options, (call) => this.streamCompletion(options, call));
  }

  /** One non-stream request, mapped by the same code as `stream`. */
  generate(options: LlmCallOptions): Promise<GenerateResult> {
    return collectStream(flattenBatches(this.run(options, (call) => this.fetchCompletion(options, call))), this.name);
  }

  private async *run(
    options: LlmCallOptions,
    request: (call: UpstreamCall) => AsyncGenerator<PartBatch>,
  ): AsyncGenerator<PartBatch> {
    yield [{ type: 'start', model: this.name }];
    const call = new UpstreamCall(this.name, this.timeoutMs, options.signal);
    try {
      const early = call.interruption();
      if (early) {
        yield [{ type: 'error', error: early }];
        return;
      }
      yield* request(call);
    } catch (err) {
      yield [
        { type: 'error', error: call.interruption() ?? toLlmError(err, { model: this.name, secrets: this.secrets }) },
      ];
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
    const body = { ...this.requestBody(options), stream: true as const, stream_options: { include_usage: true } };
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
            if ('error' in chunk && chunk.error) throw streamError(chunk as { error: { message?: string } }, res);
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

  private async *fetchCompletion(options: LlmCallOptions, call: UpstreamCall): AsyncGenerator<PartBatch> {
    const body = { ...this.requestBody(options), stream: false as const };
    const completion = this.checkCompletion(
      await call.guard(() => this.client.chat.completions.create(body, { signal: call.signal })),
    );
    call.complete();
    const choice = completion.choices[0];
    const text = choice.message?.content ?? '';
    const finish = finishPart(
      mapFinishReason(choice.finish_reason),
      completion.usage ? mapUsage(completion.usage) : undefined,
    );
    yield text ? [{ type: 'text-delta', text }, finish] : [finish];
  }

  private requestBody(options: LlmCallOptions): RequestBody {
    return {
      model: this.modelId,
      messages: options.messages.map(({ role, content }) => ({ role, content })),
      temperature: options.temperature ?? this.defaults.temperature,
      max_tokens: options.maxTokens ?? this.defaults.maxTokens,
      top_p: options.topP ?? this.defaults.topP,
      stop: options.stop?.length ? options.stop : undefined,
    };
  }

  private checkChunk(value: unknown): ChatCompletionChunk {
    if (isRecord(value) && (Array.isArray(value.choices) || isRecord(value.error)))
      return value as unknown as ChatCompletionChunk;
    throw this.malformed('a stream chunk has no "choices" list');
  }

  private checkCompletion(value: unknown): ChatCompletion {
    if (isRecord(value) && Array.isArray(value.choices) && isRecord(value.choices[0])) {
      return value as unknown as ChatCompletion;
    }
    throw this.malformed('the response is not a chat completion');
  }

  private malformed(reason: string): LlmError {
    return new LlmError('malformed_stream', `model "${this.name}": ${reason}`, { model: this.name });
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

function mapUsage(usage: CompletionUsage): Usage {
  const inputTokens = usage.prompt_tokens ?? 0;
  const outputTokens = usage.completion_tokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: usage.total_tokens ?? inputTokens + outputTokens };
}
