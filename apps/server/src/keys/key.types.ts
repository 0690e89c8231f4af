/** What a key may do (the keys contract, README "API keys"). */
export const SCOPES = ['admin', 'chat'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: resolved once per request by the guard and kept on the request. */
export interface Principal {
  /** The key's id; `env:<n>` for the n-th key of API_KEYS, `insecure` without authentication. */
  keyId: string;
  scopes: readonly Scope[];
  /** For a chat key: the only apps it may run (null: any). */
  appCodes: readonly string[] | null;
  /** This key's requests per minute (null: RATE_LIMIT_PER_MINUTE; 0: unlimited). */
  rateLimitPerMinute: number | null;
  /** This key's chat runs in flight at once (null: MAX_CONCURRENT_RUNS_PER_KEY; 0: unlimited). */
  maxConcurrentRuns: number | null;
}

/** A stored key as the API shows it: never the secret, never its hash. */
export interface KeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  app_codes: string[] | null;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked: boolean;
  /** Null: the server default (RATE_LIMIT_PER_MINUTE); 0: unlimited. */
  rate_limit_per_minute: number | null;
  /** Null: the server default (MAX_CONCURRENT_RUNS_PER_KEY); 0: unlimited. */
  max_concurrent_runs: number | null;
}

/** A key just created: the one answer that carries the secret. */
export interface CreatedKeyView extends KeyView {
  key: string;
}

/** The fields the guard needs of a stored key. */
export interface KeyGrant {
  id: string;
  scopes: Scope[];
  appCodes: string[] | null;
  expiresAt: Date | null;
  revoked: boolean;
  rateLimitPerMinute: number | null;
  maxConcurrentRuns: number | null;
}

export function hasScope(principal: Principal, needed: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(needed);
}
