import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';

/**
 * What is known about the request being served: its id, and its logger (a
 * child of the root logger carrying `reqId`), made the first time something
 * logs while the request is served; most requests never do.
 */
export class RequestLogContext {
  private child?: Logger;

  constructor(
    private readonly root: Logger,
    readonly reqId: string,
  ) {}

  get logger(): Logger {
    return (this.child ??= this.root.child({ reqId: this.reqId }));
  }
}

/**
 * The one request context of the process: `requestObserver` runs the rest of
 * each request inside it, and every logger looks its request up here.
 */
const requests = new AsyncLocalStorage<RequestLogContext>();

/** Runs `fn` (and everything it starts, sync or async) as part of the request of `context`. */
export function runInRequest<T>(context: RequestLogContext, fn: () => T): T {
  return requests.run(context, fn);
}

/** The context of the request being served, or `undefined` outside any request (start-up, timers). */
export function currentRequest(): RequestLogContext | undefined {
  return requests.getStore();
}

/** The logger to write with now: the current request's, else `fallback`. */
export function requestLogger(fallback: Logger): Logger {
  return requests.getStore()?.logger ?? fallback;
}
