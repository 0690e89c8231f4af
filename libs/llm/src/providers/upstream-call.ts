import { type LlmError, llmError } from '../errors';

/**
 * Cancellation of one upstream request: the caller's AbortSignal combined
 * with a timeout on every wait for the upstream (the response, the first
 * chunk, each next chunk). Either cause closes the upstream connection at
 * once, through the callback the request registered with `onClose` (no
 * AbortSignal held per open stream).
 */
export class UpstreamCall {
  private closeRequest?: () => void;
  private closed = false;
  private interruptedBy?: 'timeout' | 'aborted';
  private completed = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly model: string,
    private readonly timeoutMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    if (callerSignal?.aborted) this.interrupt('aborted');
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /** Registers what closes the request; called at once if the call was already stopped. */
  onClose(close: () => void): void {
    if (this.closed) close();
    else this.closeRequest = close;
  }

  /** Runs one wait for the upstream under the timeout. */
  async guard<T>(wait: () => Promise<T>): Promise<T> {
    this.timer = setTimeout(() => this.interrupt('timeout'), this.timeoutMs);
    try {
      return await wait();
    } finally {
      clearTimeout(this.timer);
    }
  }

  /** The error for a timeout or a caller abort, once either has happened. */
  interruption(): LlmError | undefined {
    const ctx = { model: this.model };
    if (this.interruptedBy === 'timeout')
      return llmError('timeout', `no answer from the upstream within ${this.timeoutMs} ms`, ctx);
    if (this.interruptedBy === 'aborted') return llmError('aborted', 'the request was aborted', ctx);
    return undefined;
  }

  /**
   * Marks the response as fully read: from now on neither the caller's abort
   * nor `end()` touches the request (its socket may already serve another).
   */
  complete(): void {
    this.completed = true;
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }

  /** Releases the listeners; closes the upstream connection unless the response was fully read. */
  end(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
    if (!this.completed) this.close();
  }

  private readonly onCallerAbort = () => this.interrupt('aborted');

  private interrupt(cause: 'timeout' | 'aborted'): void {
    this.interruptedBy ??= cause;
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    const close = this.closeRequest;
    this.closeRequest = undefined;
    close?.();
  }
}
