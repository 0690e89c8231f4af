import { HttpStatus, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import {
  databaseName,
  type DataOutcome,
  type DataPort,
  type DataRows,
  type DataSchema,
  type AppResource,
} from '@ensemble/agents';
import { ApiError } from '../common/api-error';
import { tokenCounter } from '@ensemble/llm';
import { APP_CONFIG, AppConfig } from '../config/config';
import { DatasourceFields, DatasourceNameTaken, DatasourceRow, DatasourcesRepository } from './datasources.repository';
import { DatasourceDto } from './dto/datasource.dto';
import {
  ConnectionSpec,
  DatasourceError,
  DB_TYPES,
  DbDriver,
  DbType,
  messageOf,
  QueryLimits,
  QueryResult,
} from './drivers/driver';
import { MysqlDriver } from './drivers/mysql.driver';
import { PostgresDriver } from './drivers/postgres.driver';
import { SqliteDriver } from './drivers/sqlite.driver';
import { indexSchema, SchemaIndex, schemaForQuestion, tableNames } from './schema-prompt';
import { SecretBox } from './secret-box';
import { checkReadOnly } from './sql-guard';

/** What answers show instead of a stored password. */
export const PASSWORD_MASK = '******';
/** Rows read per table for sample values. */
const SAMPLE_ROWS = 3;
/** Bound of a connection test. */
const CONNECT_TIMEOUT_MS = 5000;

/** A datasource on the wire: DB-GPT's `DatasourceModel` fields, the password masked, plus the newer form. */
export interface DatasourceView {
  id: number;
  db_type: string;
  db_name: string;
  db_path: string;
  db_host: string;
  db_port: number;
  db_user: string;
  db_pwd: string;
  comment: string;
  type: string;
  description: string;
  params: Record<string, string | number>;
  gmt_created: string;
  gmt_modified: string;
}

/** A datasource type served, with the fields its form asks for. */
export interface DatasourceTypeView {
  name: string;
  label: string;
  fields: readonly string[];
}

export const DATASOURCE_TYPES = [
  { name: 'postgresql', label: 'PostgreSQL', fields: ['db_host', 'db_port', 'db_user', 'db_pwd', 'db_name'] },
  { name: 'mysql', label: 'MySQL / MariaDB', fields: ['db_host', 'db_port', 'db_user', 'db_pwd', 'db_name'] },
  { name: 'sqlite', label: 'SQLite', fields: ['db_path', 'db_name'] },
] as const;

const notFound = (what: string) => ApiError.notFound('datasource_not_found', `Datasource ${what} was not found.`, 'id');

function view(row: DatasourceRow): DatasourceView {
  const masked = row.dbPwdEnc ? PASSWORD_MASK : '';
  const params: Record<string, string | number> =
    row.dbType === 'sqlite'
      ? { path: row.dbPath }
      : { host: row.dbHost, port: row.dbPort, user: row.dbUser, password: masked, database: row.dbName };
  return {
    id: row.id,
    db_type: row.dbType,
    db_name: row.dbName,
    db_path: row.dbPath,
    db_host: row.dbHost,
    db_port: row.dbPort,
    db_user: row.dbUser,
    db_pwd: masked,
    comment: row.comment,
    type: row.dbType,
    description: row.comment,
    params,
    gmt_created: row.createdAt.toISOString(),
    gmt_modified: row.updatedAt.toISOString(),
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;

/**
 * Datasources: DB-GPT's admin routes' rules (passwords sealed at rest, never
 * shown; the mask round-trips), connection tests, a driver and a cached
 * schema per datasource, and the data port runs use (read-only queries).
 */
@Injectable()
export class DatasourcesService implements OnModuleDestroy {
  private readonly logger = new Logger('Datasources');
  private readonly box?: SecretBox;
  private readonly drivers = new Map<number, { driver: DbDriver; version: string }>();
  private readonly schemas = new Map<number, { version: string; index: Promise<SchemaIndex> }>();

  constructor(
    private readonly repo: DatasourcesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    if (config.secretsKey) this.box = new SecretBox(config.secretsKey);
  }

  async onModuleDestroy(): Promise<void> {
    const open = [...this.drivers.values()];
    this.drivers.clear();
    await Promise.all(open.map((d) => d.driver.close().catch(() => undefined)));
  }

  types(): readonly DatasourceTypeView[] {
    return DATASOURCE_TYPES;
  }

  async list(dbType?: string): Promise<DatasourceView[]> {
    return (await this.repo.list(dbType)).map(view);
  }

  async get(id: number): Promise<DatasourceView> {
    return view(await this.row(id));
  }

  async create(dto: DatasourceDto): Promise<DatasourceView> {
    const { fields, password } = this.fields(dto, undefined);
    await this.test(fields, password);
    try {
      return view(await this.repo.insert(fields));
    } catch (e) {
      throw this.domain(e);
    }
  }

  async update(dto: DatasourceDto): Promise<DatasourceView> {
    const existing = await this.target(dto);
    const { fields, password } = this.fields(dto, existing);
    await this.test(fields, password);
    let row: DatasourceRow | undefined;
    try {
      row = await this.repo.update(existing.id, fields);
    } catch (e) {
      throw this.domain(e);
    }
    if (!row) throw notFound(String(existing.id));
    await this.forget(existing.id);
    return view(row);
  }

  async remove(id: number): Promise<DatasourceView> {
    const row = await this.repo.delete(id);
    if (!row) throw notFound(String(id));
    await this.forget(id);
    return view(row);
  }

  /** Tests the connection a body describes (a stored datasource's password when the body sends the mask). */
  async testConnection(dto: DatasourceDto): Promise<boolean> {
    const existing = dto.id !== undefined ? await this.repo.byId(dto.id) : undefined;
    const { fields, password } = this.fields(dto, existing, { forTest: true });
    await this.test(fields, password);
    return true;
  }

  /** Re-reads the schema of a datasource now (and on every replica at its next use). */
  async refresh(id: number): Promise<boolean> {
    const row = await this.repo.touchSchema(id);
    if (!row) throw notFound(String(id));
    try {
      await this.schemaIndex(row);
    } catch (e) {
      throw this.unreachable(e);
    }
    return true;
  }

  /**
   * Checks the `database` resources of app details: each must name an
   * existing datasource; 400 naming `details[i].resources[j]` otherwise.
   */
  async checkResources(details: readonly { resources?: readonly AppResource[] }[] | undefined): Promise<void> {
    const wanted: { name: string | undefined; path: string }[] = [];
    details?.forEach((d, i) =>
      d.resources?.forEach((r, j) => {
        if (r.type !== 'database') return;
        const value = typeof r.value === 'string' ? r.value : '';
        wanted.push({
          name: databaseName(value) ?? (r.name?.trim() || undefined),
          path: `details[${i}].resources[${j}]`,
        });
      }),
    );
    if (!wanted.length) return;
    const existing = await this.repo.existingNames(wanted.flatMap((w) => (w.name ? [w.name] : [])));
    for (const w of wanted) {
      if (!w.name) {
        throw ApiError.badRequest(
          'validation_error',
          `${w.path}: a database resource must name a datasource ({"db_name": "<name>"} or the name).`,
          w.path,
        );
      }
      if (!existing.has(w.name)) {
        throw ApiError.badRequest(
          'validation_error',
          `${w.path}: datasource ${JSON.stringify(w.name)} does not exist (see GET /api/v2/serve/datasources).`,
          w.path,
        );
      }
    }
  }

  async exists(name: string): Promise<boolean> {
    return (await this.repo.byName(name)) !== undefined;
  }

  /** The port a run reaches datasources through. */
  dataPort(): DataPort {
    return {
      schema: (name, question) => this.schemaFor(name, question),
      query: (name, sql, signal) => this.queryFor(name, sql, signal),
    };
  }

  /** The schema of datasource `name` for a question (prompts; chat_data, chat_db_qa). */
  async schemaFor(name: string, question: string): Promise<DataOutcome<DataSchema>> {
    const row = await this.repo.byName(name);
    if (!row) return { ok: false, reason: `there is no datasource named ${JSON.stringify(name)}` };
    try {
      const index = await this.schemaIndex(row);
      return {
        ok: true,
        value: {
          dialect: row.dbType,
          text: schemaForQuestion(index, question, this.config.datasourceSchemaMaxTokens),
          tables: tableNames(index, question, 10),
        },
      };
    } catch (e) {
      return { ok: false, reason: `its schema could not be read: ${reasonOf(e)}` };
    }
  }

  /** Runs one generated statement read-only; a refusal or an error is the reason. */
  async queryFor(name: string, sql: string, signal?: AbortSignal): Promise<DataOutcome<DataRows>> {
    const row = await this.repo.byName(name);
    if (!row) return { ok: false, reason: `there is no datasource named ${JSON.stringify(name)}` };
    const checked = checkReadOnly(sql, row.dbType as DbType);
    if (!checked.ok) return { ok: false, reason: `refused: ${checked.reason}` };
    if (signal?.aborted) return { ok: false, reason: 'the run was cancelled' };
    try {
      const result: QueryResult = await this.driver(row).query(checked.sql, this.limits());
      return { ok: true, value: result };
    } catch (e) {
      return { ok: false, reason: reasonOf(e) };
    }
  }

  /** The statement timeout and row cap of generated queries. */
  limits(): QueryLimits {
    return { timeoutMs: this.config.datasourceQueryTimeoutMs, maxRows: this.config.datasourceMaxRows };
  }

  private async row(id: number): Promise<DatasourceRow> {
    const row = await this.repo.byId(id);
    if (!row) throw notFound(String(id));
    return row;
  }

  /** The datasource a PUT names: by `id`, else by `db_name`. */
  private async target(dto: DatasourceDto): Promise<DatasourceRow> {
    if (dto.id !== undefined) return this.row(dto.id);
    const name = dto.db_name ?? str(dto.params?.database);
    if (!name) throw ApiError.badRequest('validation_error', 'id (or db_name) is required to update.', 'id');
    const row = await this.repo.byName(name);
    if (!row) throw notFound(JSON.stringify(name));
    return row;
  }

  /**
   * The stored fields a body describes, over `existing` for an update, and
   * the password it gives in plain text (for the connection test only);
   * validates the parts per type.
   */
  private fields(
    dto: DatasourceDto,
    existing: DatasourceRow | undefined,
    opts: { forTest?: boolean } = {},
  ): { fields: DatasourceFields; password?: string } {
    const p = dto.params ?? {};
    const type = dto.db_type ?? dto.type ?? existing?.dbType;
    if (!type)
      throw ApiError.badRequest('validation_error', `db_type is required (${DB_TYPES.join(', ')}).`, 'db_type');
    const name = (dto.db_name ?? str(p.database) ?? str(p.name) ?? existing?.dbName ?? '').trim();
    if (!name) throw ApiError.badRequest('validation_error', 'db_name is required.', 'db_name');
    const same = existing && existing.dbType === type;
    const fields: DatasourceFields = {
      dbType: type,
      dbName: name,
      dbPath: (dto.db_path ?? str(p.path) ?? (same ? existing.dbPath : '')).trim(),
      dbHost: (dto.db_host ?? str(p.host) ?? (same ? existing.dbHost : '')).trim(),
      dbPort: dto.db_port ?? num(p.port) ?? (same ? existing.dbPort : 0),
      dbUser: dto.db_user ?? str(p.user) ?? str(p.username) ?? (same ? existing.dbUser : ''),
      dbPwdEnc: existing?.dbPwdEnc ?? null,
      comment: dto.comment ?? dto.description ?? dto.desc ?? existing?.comment ?? '',
    };
    const given = dto.db_pwd ?? str(p.password);
    const password = given !== undefined && given !== PASSWORD_MASK ? given : undefined;
    if (password === '') fields.dbPwdEnc = null;
    else if (password !== undefined) {
      if (this.box) fields.dbPwdEnc = this.box.seal(password);
      else if (!opts.forTest) {
        throw ApiError.badRequest(
          'secrets_key_missing',
          'A password cannot be stored: SECRETS_KEY is not configured (32 random bytes, base64).',
          'db_pwd',
        );
      }
    }
    if (type === 'sqlite') {
      if (!fields.dbPath) throw ApiError.badRequest('validation_error', 'db_path is required for sqlite.', 'db_path');
      this.sqliteFile(fields.dbPath);
      fields.dbHost = '';
      fields.dbPort = 0;
      fields.dbUser = '';
      fields.dbPwdEnc = null;
    } else if (!fields.dbHost) {
      throw ApiError.badRequest('validation_error', `db_host is required for ${type}.`, 'db_host');
    }
    return { fields, password };
  }

  /** The file of a sqlite path; 400 when it is outside the datasource files folder. */
  private sqliteFile(path: string): string {
    const root = resolve(this.config.datasourceFilesDir);
    const file = resolve(root, path);
    // Symbolic links are followed: a link inside the folder to a file outside it is outside.
    const real = existsSync(file) ? realpathSync(file) : resolve(realDir(dirname(file)), basename(file));
    const rel = relative(realDir(root), real);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) {
      throw ApiError.badRequest(
        'validation_error',
        'db_path must be a file inside the datasource files folder (DATASOURCE_FILES_DIR).',
        'db_path',
      );
    }
    return file;
  }

  /** How to connect; `plain` is a password just given (a test without a key to seal it). */
  private spec(f: DatasourceFields, plain?: string): ConnectionSpec {
    const password = plain ?? (f.dbPwdEnc && this.box ? this.box.open(f.dbPwdEnc) : '');
    return {
      type: f.dbType as DbType,
      host: f.dbHost,
      port: f.dbPort,
      user: f.dbUser,
      password,
      database: f.dbName,
      path: f.dbType === 'sqlite' ? this.sqliteFile(f.dbPath) : '',
    };
  }

  /** Connects within a bound; 400 `datasource_unreachable` with the driver's scrubbed reason. */
  private async test(fields: DatasourceFields, password?: string): Promise<void> {
    const driver = createDriver(this.spec(fields, password));
    try {
      await driver.ping(Math.min(CONNECT_TIMEOUT_MS, this.config.datasourceQueryTimeoutMs));
    } catch (e) {
      throw this.unreachable(e);
    } finally {
      await driver.close().catch(() => undefined);
    }
  }

  private unreachable(e: unknown): ApiError {
    const reason = reasonOf(e);
    this.logger.warn(`datasource connection failed: ${reason}`);
    return new ApiError(
      HttpStatus.BAD_REQUEST,
      'datasource_unreachable',
      `The datasource could not be reached: ${reason}`,
      null,
    );
  }

  private driver(row: DatasourceRow): DbDriver {
    const version = row.updatedAt.toISOString();
    const cached = this.drivers.get(row.id);
    if (cached && cached.version === version) return cached.driver;
    if (cached) void cached.driver.close().catch(() => undefined);
    const driver = createDriver(this.spec(row));
    this.drivers.set(row.id, { driver, version });
    return driver;
  }

  /** The cached schema of a datasource (read once per version; a failed read is not kept). */
  private schemaIndex(row: DatasourceRow): Promise<SchemaIndex> {
    // An update or a refresh on any replica changes the version; the next prompt here reads the schema again.
    const version = `${row.updatedAt.toISOString()} ${row.schemaReadAt.toISOString()}`;
    const cached = this.schemas.get(row.id);
    if (cached && cached.version === version) return cached.index;
    const index = this.driver(row)
      .readSchema(SAMPLE_ROWS)
      .then(async (tables) => indexSchema(tables, await tokenCounter()))
      .catch((e: unknown) => {
        if (this.schemas.get(row.id)?.index === index) this.schemas.delete(row.id);
        throw e;
      });
    this.schemas.set(row.id, { version, index });
    return index;
  }

  private async forget(id: number): Promise<void> {
    this.schemas.delete(id);
    const cached = this.drivers.get(id);
    this.drivers.delete(id);
    await cached?.driver.close().catch(() => undefined);
  }

  private domain(e: unknown): unknown {
    if (e instanceof DatasourceNameTaken) {
      return ApiError.conflict('datasource_name_conflict', 'A datasource with this db_name already exists.', 'db_name');
    }
    return e;
  }
}

function createDriver(spec: ConnectionSpec): DbDriver {
  switch (spec.type) {
    case 'postgresql':
      return new PostgresDriver(spec, CONNECT_TIMEOUT_MS);
    case 'mysql':
      return new MysqlDriver(spec, CONNECT_TIMEOUT_MS);
    case 'sqlite':
      return new SqliteDriver(spec);
  }
}

function realDir(dir: string): string {
  return existsSync(dir) ? realpathSync(dir) : dir;
}

function reasonOf(e: unknown): string {
  return e instanceof DatasourceError ? e.message : messageOf(e);
}
