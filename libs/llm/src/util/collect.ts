import type { FinishReason, GenerateResult, StreamPart, Usage } from '../port';

/**
 * Drains a stream into a `GenerateResult`; this is how every `generate()` is
 * built on `stream()`. Throws the stream's `LlmError` if it ends in one.
 */
export async function collectStream(parts: AsyncIterable<StreamPart>, model: string): Promise<GenerateResult> {
  let answeredBy = model;
  let text = '';
  let finishReason: FinishReason = 'other';
  let usage: Usage | undefined;
  for await (const part of parts) {
    switch (part.type) {
      case 'start':
        answeredBy = part.model;
        break;
      case 'text-delta':
        text += part.text;
        break;
      case 'finish':
        finishReason = part.finishReason;
        usage = part.usage;
        break;
      case 'error':
        throw part.error;
    }
  }
  return usage ? { model: answeredBy, text, finishReason, usage } : { model: answeredBy, text, finishReason };
}
