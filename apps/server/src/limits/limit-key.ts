import type { Request } from 'express';
import { AuthenticatedRequest, INSECURE_PRINCIPAL } from '../auth/principal';

/** Who a request counts against, and the limits of that key's record (null: the server default; 0: unlimited). */
export interface LimitSubject {
  /** `key:<key id>`, or `ip:<client address>` without authentication. */
  key: string;
  rateLimitPerMinute: number | null;
  maxConcurrentRuns: number | null;
}

/**
 * Who a request counts against for rate limits and the run cap: the key
 * the API-key guard resolved (by its id, the same on every replica), or,
 * without authentication (ENSEMBLE_INSECURE_NO_AUTH), the client IP.
 */
export function limitSubject(req: Pick<Request, 'ip'> & { socket?: { remoteAddress?: string } }): LimitSubject {
  const principal = (req as AuthenticatedRequest).principal;
  if (principal && principal !== INSECURE_PRINCIPAL) {
    return {
      key: `key:${principal.keyId}`,
      rateLimitPerMinute: principal.rateLimitPerMinute,
      maxConcurrentRuns: principal.maxConcurrentRuns,
    };
  }
  return {
    key: `ip:${req.ip ?? req.socket?.remoteAddress ?? 'unknown'}`,
    rateLimitPerMinute: null,
    maxConcurrentRuns: null,
  };
}
