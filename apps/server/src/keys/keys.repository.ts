import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql';
import type { KeyGrant, KeyView, Scope } from './key.types';

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  app_codes: string[] | null;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  rate_limit_per_minute: number | null;
  max_concurrent_runs: number | null;
}

const COLUMNS =
  'id, name, prefix, scopes, app_codes, created_at, last_used_at, expires_at, revoked_at, rate_limit_per_minute, max_concurrent_runs';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toView(row: KeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    app_codes: row.app_codes,
    created_at: row.created_at.toISOString(),
    last_used_at: iso(row.last_used_at),
    expires_at: iso(row.expires_at),
    revoked: row.revoked_at !== null,
    rate_limit_per_minute: row.rate_limit_per_minute,
    max_concurrent_runs: row.max_concurrent_runs,
  };
}

/** Every statement on `api_keys`. Keys are found by the SHA-256 of their secret; the secret is never stored. */
@Injectable()
export class KeysRepository {
  constructor(private readonly sql: Sql) {}

  async insert(key: {
    id: string;
    name: string;
    prefix: string;
    hash: string;
    scopes: Scope[];
    appCodes: string[] | null;
    expiresAt: Date | null;
    rateLimitPerMinute: number | null;
    maxConcurrentRuns: number | null;
    createdBy: string;
  }): Promise<KeyView> {
    const rows = await this.sql.query<KeyRow>(
      `INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, app_codes, expires_at, created_by,
                             rate_limit_per_minute, max_concurrent_runs)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
      [
        key.id,
        key.name,
        key.prefix,
        key.hash,
        key.scopes,
        key.appCodes,
        key.expiresAt,
        key.createdBy,
        key.rateLimitPerMinute,
        key.maxConcurrentRuns,
      ],
    );
    return toView(rows[0]);
  }

  async page(limit: number, offset: number): Promise<{ items: KeyView[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.sql.query<KeyRow>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`, [
        limit,
        offset,
      ]),
      this.sql.query<{ n: string }>(`SELECT count(*) AS n FROM api_keys`),
    ]);
    return { items: rows.map(toView), total: Number(count[0].n) };
  }

  /** Marks the key revoked (once: a second revoke keeps the first time). Null when there is no such key. */
  async revoke(id: string): Promise<KeyView | null> {
    const rows = await this.sql.query<KeyRow>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0] ? toView(rows[0]) : null;
  }

  async findByHash(hash: string): Promise<KeyGrant | null> {
    const rows = await this.sql.query<
      Pick<
        KeyRow,
        'id' | 'scopes' | 'app_codes' | 'expires_at' | 'revoked_at' | 'rate_limit_per_minute' | 'max_concurrent_runs'
      >
    >(
      `SELECT id, scopes, app_codes, expires_at, revoked_at, rate_limit_per_minute, max_concurrent_runs
       FROM api_keys WHERE secret_hash = $1`,
      [hash],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      scopes: row.scopes,
      appCodes: row.app_codes,
      expiresAt: row.expires_at,
      revoked: row.revoked_at !== null,
      rateLimitPerMinute: row.rate_limit_per_minute,
      maxConcurrentRuns: row.max_concurrent_runs,
    };
  }

  /** One statement for every key used since the last call. */
  async touch(ids: string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.sql.query(
      `UPDATE api_keys SET last_used_at = GREATEST(COALESCE(last_used_at, $2), $2) WHERE id = ANY($1::uuid[])`,
      [ids, at],
    );
  }
}
