import { Injectable } from '@nestjs/common';
import type { PageTotalsView } from '../common/page.response';
import { Sql } from '../database/sql';

export interface AuditEntry {
  keyId: string;
  action: string;
  target: string | null;
}

export interface AuditView {
  id: string;
  at: string;
  key_id: string;
  action: string;
  target: string | null;
}

/** A page of admin changes, as `GET /api/v2/serve/audit` sends it. */
export interface AuditListView extends PageTotalsView {
  items: AuditView[];
}

interface AuditRow {
  id: string;
  at: Date;
  key_id: string;
  action: string;
  target: string | null;
}

/** Every statement on `audit_log`: admin changes, appended, read newest first. */
@Injectable()
export class AuditRepository {
  constructor(private readonly sql: Sql) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.sql.query(`INSERT INTO audit_log (key_id, action, target) VALUES ($1, $2, $3)`, [
      entry.keyId,
      entry.action,
      entry.target,
    ]);
  }

  async page(keyId: string | undefined, limit: number, offset: number): Promise<{ items: AuditView[]; total: number }> {
    const where = keyId === undefined ? '' : 'WHERE key_id = $3';
    const params = keyId === undefined ? [limit, offset] : [limit, offset, keyId];
    const [rows, count] = await Promise.all([
      this.sql.query<AuditRow>(
        `SELECT id, at, key_id, action, target FROM audit_log ${where} ORDER BY id DESC LIMIT $1 OFFSET $2`,
        params,
      ),
      this.sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM audit_log ${keyId === undefined ? '' : 'WHERE key_id = $1'}`,
        keyId === undefined ? [] : [keyId],
      ),
    ]);
    return {
      items: rows.map((r) => ({
        id: String(r.id),
        at: r.at.toISOString(),
        key_id: r.key_id,
        action: r.action,
        target: r.target,
      })),
      total: Number(count[0].n),
    };
  }
}
