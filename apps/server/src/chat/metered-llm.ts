import { collectStream, LlmPort, LlmRequest, StreamPart } from '@ensemble/llm';
import type { RunTimer } from '../observability/metrics.service';

/**
 * The LLM port of one run, timing every call for the metrics: latency, time
 * to first token, tokens by model, and the run's time spent waiting on the
 * LLM (the rest is Ensemble's own overhead). Parts pass through unchanged.
 */
export function meteredLlm(llm: LlmPort, timer: RunTimer): LlmPort {
  const stream = (request: LlmRequest) => meter(llm.stream(request), timer, request.model ?? 'default');
  return {
    stream,
    generate: (request) => collectStream(stream(request), request.model ?? 'default'),
  };
}

async function* meter(parts: AsyncIterable<StreamPart>, timer: RunTimer, model: string): AsyncIterable<StreamPart> {
  const call = timer.llmCall(model);
  try {
    for await (const part of parts) {
      if (part.type === 'start') call.answeredBy(part.model);
      else if (part.type === 'text-delta') call.firstToken();
      else if (part.type === 'finish') call.end('ok', part.usage);
      else if (part.type === 'error') call.end(part.error.code === 'aborted' ? 'cancelled' : 'error');
      yield part;
    }
  } finally {
    call.end('cancelled');
  }
}
