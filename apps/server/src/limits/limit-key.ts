import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { bearerToken } from '../auth/bearer-token';

/**
 * Who a request counts against for rate limits and the run cap: its API key
 * (as a digest, so no key is held in the limiter's memory), or, when it has
 * none (only with ENSEMBLE_INSECURE_NO_AUTH), its client IP.
 */
export function limitKey(req: Pick<Request, 'headers' | 'ip'> & { socket?: { remoteAddress?: string } }): string {
  const token = bearerToken(req);
  if (token) return `key:${createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 32)}`;
  return `ip:${req.ip ?? req.socket?.remoteAddress ?? 'unknown'}`;
}
