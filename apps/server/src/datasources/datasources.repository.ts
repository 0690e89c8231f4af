import { Injectable } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { Sql } from '../database/sql';

/** A stored datasource; the password only sealed. */
export interface DatasourceRow {
  id: number;
  dbType: string;
  dbName: string;
  dbPath: string;
  dbHost: string;
  dbPort: number;
  dbUser: string;
  dbPwdEnc: string | null;
  comment: string;
  createdAt: Date;
  updatedAt: Date;
  /** When a refresh last asked for the schema to be read again (every replica re-reads after it). */
  schemaReadAt: Date;
}

export type DatasourceFields = Omit<DatasourceRow, 'id' | 'createdAt' | 'updatedAt' | 'schemaReadAt'>;

/** `db_name` is taken by another datasource. */
export class DatasourceNameTaken extends Error {}

const COLUMNS = `id, db_type AS "dbType", db_name AS "dbName", db_path AS "dbPath", db_host AS "dbHost",
  db_port AS "dbPort", db_user AS "dbUser", db_pwd_enc AS "dbPwdEnc", comment,
  created_at AS "createdAt", updated_at AS "updatedAt", schema_read_at AS "schemaReadAt"`;

/** Every SQL statement of the `datasources` table. */
@Injectable()
export class DatasourcesRepository {
  constructor(private readonly sql: Sql) {}

  async list(dbType?: string): Promise<DatasourceRow[]> {
    const rows = dbType
      ? await this.sql.query<Record<string, unknown>>(
          `SELECT ${COLUMNS} FROM datasources WHERE db_type = $1 ORDER BY id`,
          [dbType],
        )
      : await this.sql.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM datasources ORDER BY id`, []);
    return rows as unknown as DatasourceRow[];
  }

  async byId(id: number): Promise<DatasourceRow | undefined> {
    const rows = await this.sql.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM datasources WHERE id = $1`, [
      id,
    ]);
    return rows[0] as unknown as DatasourceRow | undefined;
  }

  async byName(name: string): Promise<DatasourceRow | undefined> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM datasources WHERE db_name = $1`,
      [name],
    );
    return rows[0] as unknown as DatasourceRow | undefined;
  }

  /** Which of `names` exist. */
  async existingNames(names: string[]): Promise<Set<string>> {
    if (!names.length) return new Set();
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT db_name FROM datasources WHERE db_name = ANY($1)`,
      [names],
    );
    return new Set(rows.map((r) => String(r.db_name)));
  }

  async insert(f: DatasourceFields): Promise<DatasourceRow> {
    const rows = await this.write(
      `INSERT INTO datasources (db_type, db_name, db_path, db_host, db_port, db_user, db_pwd_enc, comment)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [f.dbType, f.dbName, f.dbPath, f.dbHost, f.dbPort, f.dbUser, f.dbPwdEnc, f.comment],
    );
    return rows[0] as unknown as DatasourceRow;
  }

  async update(id: number, f: DatasourceFields): Promise<DatasourceRow | undefined> {
    const rows = await this.write(
      `UPDATE datasources SET db_type = $2, db_name = $3, db_path = $4, db_host = $5, db_port = $6, db_user = $7,
              db_pwd_enc = $8, comment = $9, updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, f.dbType, f.dbName, f.dbPath, f.dbHost, f.dbPort, f.dbUser, f.dbPwdEnc, f.comment],
    );
    return rows[0] as unknown as DatasourceRow | undefined;
  }

  /** Marks the schema of a datasource to be read again. */
  async touchSchema(id: number): Promise<DatasourceRow | undefined> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `UPDATE datasources SET schema_read_at = clock_timestamp() WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0] as unknown as DatasourceRow | undefined;
  }

  async delete(id: number): Promise<DatasourceRow | undefined> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `DELETE FROM datasources WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0] as unknown as DatasourceRow | undefined;
  }

  private async write(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      return await this.sql.query<Record<string, unknown>>(sql, params);
    } catch (e) {
      if (e instanceof QueryFailedError) {
        const { code, constraint } = e.driverError as { code?: string; constraint?: string };
        if (code === '23505' && constraint === 'datasources_db_name_key') throw new DatasourceNameTaken();
      }
      throw e;
    }
  }
}
