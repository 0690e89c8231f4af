import { batchedStream, collectStream, LlmPort, LlmRequest, PartBatch, partBatches } from '@ensemble/llm';
import { endIterator } from './iterators';

/**
 * Open while the client takes the stream's bytes, closed while its socket
 * is not draining. A run's LLM reads wait at the gate, so a client that
 * stops reading stops the upstream too (its socket is paused) and nothing
 * piles up in this process.
 */
export class FlowGate {
  private waiters: (() => void)[] = [];
  private closed = false;

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    this.closed = true;
  }

  open(): void {
    this.closed = false;
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Undefined when open (no promise on the hot path); otherwise resolves when it opens or `signal` aborts. */
  passed(signal: AbortSignal): Promise<void> | undefined {
    if (!this.closed || signal.aborted) return undefined;
    return new Promise<void>((resolve) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      };
      this.waiters.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * The run's LLM port with every read of the upstream behind `gate`: the
 * next batch is asked for only while the client drains its stream.
 */
export function gatedLlm(llm: LlmPort, gate: FlowGate, signal: AbortSignal): LlmPort {
  const stream = (request: LlmRequest) => batchedStream(gated(partBatches(llm.stream(request)), gate, signal));
  return { stream, generate: (request) => collectStream(stream(request), request.model ?? 'default') };
}

/**
 * `batches` read through the gate: a plain iterator rather than an async
 * generator, so an open gate costs no promise of its own per batch.
 */
function gated(batches: AsyncIterable<PartBatch>, gate: FlowGate, signal: AbortSignal): AsyncIterable<PartBatch> {
  return {
    [Symbol.asyncIterator]: () => {
      const it = batches[Symbol.asyncIterator]();
      return {
        next: () => {
          const wait = gate.passed(signal);
          return wait ? wait.then(() => it.next()) : it.next();
        },
        return: (value?: unknown) => endIterator(it, value),
      };
    },
  };
}
