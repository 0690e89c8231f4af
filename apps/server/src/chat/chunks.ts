import type { FinishReason, Usage } from '@ensemble/llm';
import type { ErrorBody } from '../common/api-error';

export const DONE_FRAME = 'data: [DONE]\n\n';
export const PING_FRAME = ': ping\n\n';

export type WireFinishReason = 'stop' | 'length' | 'content_filter' | 'error';

export function wireFinishReason(reason: FinishReason): WireFinishReason {
  if (reason === 'length') return 'length';
  if (reason === 'content-filter') return 'content_filter';
  if (reason === 'error') return 'error';
  return 'stop';
}

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function wireUsage(u: Usage | undefined): WireUsage {
  return {
    prompt_tokens: u?.inputTokens ?? 0,
    completion_tokens: u?.outputTokens ?? 0,
    total_tokens: u?.totalTokens ?? 0,
  };
}

/**
 * Builds the SSE frames of one response in OpenAI's chunk format. The part
 * shared by every chunk is serialised once; a token costs one
 * JSON.stringify of its text and a concatenation.
 */
export class ChunkFrames {
  private readonly head: string;

  constructor(
    readonly id: string,
    readonly model: string,
    readonly created = Math.floor(Date.now() / 1000),
  ) {
    this.head = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":[`;
  }

  content(text: string): string {
    return `data: ${this.head}{"index":0,"delta":{"role":"assistant","content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`;
  }

  finish(reason: WireFinishReason): string {
    return `data: ${this.head}{"index":0,"delta":{"content":""},"finish_reason":"${reason}"}]}\n\n`;
  }

  usage(usage: Usage | undefined): string {
    return `data: ${this.head}],"usage":${JSON.stringify(wireUsage(usage))}}\n\n`;
  }

  /**
   * A failure after the stream started: a chunk DB-GPT's client reads (the
   * failure shown in `content`, `finish_reason: "stop"`) that also carries
   * `error`, on which OpenAI SDKs raise.
   */
  failure(content: string, body: ErrorBody): string {
    return `data: ${this.head}{"index":0,"delta":{"role":"assistant","content":${JSON.stringify(content)}},"finish_reason":"stop"}],"error":${JSON.stringify(body.error)}}\n\n`;
  }

  /** The non-stream answer (`chat.completion`). */
  completion(content: string, finishReason: WireFinishReason, usage: Usage | undefined) {
    return {
      id: this.id,
      object: 'chat.completion' as const,
      created: this.created,
      model: this.model,
      choices: [{ index: 0, message: { role: 'assistant' as const, content }, finish_reason: finishReason }],
      usage: wireUsage(usage),
    };
  }
}
