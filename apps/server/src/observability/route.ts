import type { IncomingMessage } from 'node:http';

/** Label used when no route matched (404, or a body rejected before routing). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The matched route pattern (e.g. `/api/v2/serve/apps/:app_code`), never the raw URL. */
export function routeOf(req: IncomingMessage): string {
  const path = (req as { route?: { path?: unknown } }).route?.path;
  return typeof path === 'string' ? path : UNMATCHED_ROUTE;
}
