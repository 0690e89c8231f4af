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
}

export function hasScope(principal: Principal, needed: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(needed);
}
