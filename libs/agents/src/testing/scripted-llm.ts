/**
 * A scripted `LlmPort` for tests: replies come from a list (one per call, in
 * order) or a function of the request; each reply streams word by word (or
 * as given tokens), can end in an error part, and can wait between tokens so
 * an abort mid-message is testable. Every call is recorded. Honours the
 * request's AbortSignal like a real provider: the stream ends with an
 * `aborted` error part.
 */
import { collectStream } from '@ensemble/llm/util/collect';
import { sleep } from '@ensemble/llm/util/sleep';
import type {
  ChatMessage,
  FinishReason,
  GenerateResult,
  LlmPort,
  LlmRequest,
  LlmStrategy,
  StreamPart,
  Usage,
} from '@ensemble/llm';
import { LlmError, type LlmErrorCode } from '@ensemble/llm/errors';

/** One scripted reply; a plain string is `{ text }`. */
export interface ScriptedReply {
  /** The reply, streamed word by word (each token keeps its trailing whitespace). */
  text?: string;
  /** Exact tokens instead of `text`. */
  tokens?: string[];
  /** The model named in the `start` part; else the request's model, first priority model, or the default. */
  model?: string;
  usage?: Usage;
  finishReason?: FinishReason;
  /** End in an error part: before `start` when `afterTokens` is undefined, else after that many tokens. */
  error?: { code: LlmErrorCode; message?: string; afterTokens?: number };
}

export type Script =
  | ReadonlyArray<string | ScriptedReply>
  | ((request: LlmRequest, call: number) => string | ScriptedReply);

export interface ScriptedLlmOptions {
  /** Model named when neither the reply nor the request decides. Default `scripted-model`. */
  model?: string;
  /** Wait before each token, in ms (aborting ends the wait). Default 0. */
  tokenDelayMs?: number;
}

/** What a call asked for. */
export interface RecordedCall {
  messages: ChatMessage[];
  model?: string;
  strategy?: LlmStrategy;
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export class ScriptedLlm implements LlmPort {
  /** Every call, in order. */
  readonly calls: RecordedCall[] = [];

  constructor(
    private readonly script: Script,
    private readonly options: ScriptedLlmOptions = {},
  ) {}

  stream(request: LlmRequest): AsyncIterable<StreamPart> {
    const call = this.calls.length;
    this.calls.push({
      messages: request.messages.map((m) => ({ ...m })),
      model: request.model,
      strategy: request.strategy,
      temperature: request.temperature,
      maxTokens: request.maxTokens,
      signal: request.signal,
    });
    return this.play(this.replyFor(request, call), request);
  }

  generate(request: LlmRequest): Promise<GenerateResult> {
    return collectStream(this.stream(request), '');
  }

  private replyFor(request: LlmRequest, call: number): ScriptedReply {
    const reply = typeof this.script === 'function' ? this.script(request, call) : this.script[call];
    if (reply === undefined) {
      return { error: { code: 'upstream', message: `ScriptedLlm: no reply scripted for call ${call + 1}` } };
    }
    return typeof reply === 'string' ? { text: reply } : reply;
  }

  private async *play(reply: ScriptedReply, request: LlmRequest): AsyncGenerator<StreamPart> {
    const { signal } = request;
    const aborted = (): StreamPart => ({ type: 'error', error: new LlmError('aborted', 'the request was aborted') });
    if (signal?.aborted) return yield aborted();
    const failure = reply.error;
    if (failure && failure.afterTokens === undefined) return yield failureOf(failure);

    const model = reply.model ?? request.model ?? priorityModel(request.strategy) ?? this.options.model;
    yield { type: 'start', model: model ?? 'scripted-model' };
    const tokens = reply.tokens ?? splitWords(reply.text ?? '');
    const count = failure ? Math.min(failure.afterTokens ?? 0, tokens.length) : tokens.length;
    for (const token of tokens.slice(0, count)) {
      await sleep(this.options.tokenDelayMs ?? 0, signal);
      if (signal?.aborted) return yield aborted();
      yield { type: 'text-delta', text: token };
    }
    if (failure) return yield failureOf(failure);
    const usage = reply.usage ?? countedUsage(request.messages, tokens.length);
    yield { type: 'finish', finishReason: reply.finishReason ?? 'stop', usage };
  }
}

/** Word tokens keeping their trailing whitespace; joining them gives the text back. */
export function splitWords(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function failureOf(failure: NonNullable<ScriptedReply['error']>): StreamPart {
  return { type: 'error', error: new LlmError(failure.code, failure.message ?? `scripted ${failure.code} error`) };
}

function priorityModel(strategy: LlmStrategy | undefined): string | undefined {
  return strategy?.type === 'priority' ? strategy.models[0] : undefined;
}

/** Input: words of the prompt; output: tokens streamed. */
function countedUsage(messages: ChatMessage[], outputTokens: number): Usage {
  const inputTokens = messages.reduce((sum, m) => sum + m.content.split(/\s+/).filter(Boolean).length, 0);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}
