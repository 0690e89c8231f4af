import type { Request } from 'express';
import type { Principal } from '../keys/key.types';

/** The caller of a request, as the guard resolved it. */
export type AuthenticatedRequest = Request & { principal?: Principal };

/** Without authentication (ENSEMBLE_INSECURE_NO_AUTH): one caller with every scope. */
export const INSECURE_PRINCIPAL: Principal = {
  keyId: 'insecure',
  scopes: ['admin'],
  appCodes: null,
  rateLimitPerMinute: null,
  maxConcurrentRuns: null,
};

/** Who is asking about stored conversations: a key sees its own, an admin key every one. */
export function viewerOf(principal: Principal): { keyId: string; admin: boolean } {
  return { keyId: principal.keyId, admin: principal.scopes.includes('admin') };
}

export function principalOf(req: Request): Principal {
  const principal = (req as AuthenticatedRequest).principal;
  if (!principal) throw new Error('no principal on the request: is the route public?');
  return principal;
}
