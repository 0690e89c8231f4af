import { Logger } from '@nestjs/common';
import { batchedStream, collectStream, LlmError, LlmPort, LlmRequest, PartBatch, partBatches } from '@ensemble/llm';
import type { LlmCallTimer, RunTimer } from '../observability/metrics.service';
import { endIterator } from './iterators';

/**
 * The LLM port of one run, timing every call for the metrics: latency, time
 * to first token, tokens by model, and the run's time spent waiting on the
 * LLM (the rest is Ensemble's own overhead). Parts pass through unchanged,
 * in the batches they arrived in.
 */
export function meteredLlm(llm: LlmPort, timer: RunTimer): LlmPort {
  const stream = (request: LlmRequest) =>
    batchedStream(meter(partBatches(llm.stream(request)), timer, request.model ?? 'default'));
  return { stream, generate: (request) => collectStream(stream(request), request.model ?? 'default') };
}

/**
 * `batches` passed through unchanged, each part seen by the call's timer; the
 * call ends (`cancelled`, unless a part ended it first) when the stream ends
 * in any way. A plain iterator rather than an async generator: no promise
 * of its own per batch.
 */
function meter(batches: AsyncIterable<PartBatch>, timer: RunTimer, model: string): AsyncIterable<PartBatch> {
  return {
    [Symbol.asyncIterator]: () => {
      const call = timer.llmCall(model);
      const it = batches[Symbol.asyncIterator]();
      const seen = (result: IteratorResult<PartBatch>) => {
        if (result.done) call.end('cancelled');
        else for (const part of result.value) see(call, part, model);
        return result;
      };
      const failed = (e: unknown) => {
        call.end('cancelled');
        throw e;
      };
      return {
        next: () => it.next().then(seen, failed),
        return: (value?: unknown) => {
          call.end('cancelled');
          return endIterator(it, value);
        },
      };
    },
  };
}

function see(call: LlmCallTimer, part: PartBatch[number], model: string): void {
  if (part.type === 'start') call.answeredBy(part.model);
  else if (part.type === 'text-delta') call.firstToken();
  else if (part.type === 'finish') call.end('ok', part.usage);
  else if (part.type === 'error') {
    call.end(part.error.code === 'aborted' ? 'cancelled' : 'error');
    logUpstreamError(part.error, model);
  }
}

const logger = new Logger('Llm');

/**
 * The one place an upstream's own error text is kept: the log. Bodies and
 * streams name the model and the kind only (`llm-errors.ts`, the agents' step
 * reasons).
 */
function logUpstreamError(error: LlmError, model: string): void {
  if (error.code === 'aborted') return;
  const status = error.status ? ` HTTP ${error.status}` : '';
  logger.warn(
    `LLM call to ${JSON.stringify(error.model ?? model)} failed (${error.code}${status}): ${error.message.slice(0, 2000)}`,
  );
}
