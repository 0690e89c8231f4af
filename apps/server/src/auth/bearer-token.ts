import type { Request } from 'express';

/** Reads the bearer token of `Authorization: Bearer <key>` (the scheme in any case). */
export function bearerToken(req: Pick<Request, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1].trim();
}
