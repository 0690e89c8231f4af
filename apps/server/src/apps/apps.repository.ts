import { Injectable } from '@nestjs/common';
import { PgCode, pgError, Query, Sql } from '../database/sql';
import { normalizeResources } from './app.mapper';
import type { AppResourceJson } from './app.types';
import { AppsError } from './apps.errors';

/** A row of `apps`, by property. */
export interface AppRow {
  appCode: string;
  appName: string;
  appDescribe: string;
  teamMode: string;
  language: string;
  /** A string or an object, stored as JSON so both round-trip. */
  teamContext: string | Record<string, unknown> | null;
  userCode: string | null;
  sysCode: string | null;
  icon: string | null;
  published: boolean;
  paramNeed: unknown[];
  recommendQuestions: unknown[];
  admins: string[];
  keepStartRounds: number;
  keepEndRounds: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A row of `app_details`, by property: one agent of an app, in order. */
export interface DetailRow {
  id: string;
  appCode: string;
  position: number;
  agentName: string;
  nodeId: string | null;
  resources: AppResourceJson[];
  promptTemplate: string | null;
  llmStrategy: string;
  /** Priority list as one comma-separated string, e.g. `chatgpt_proxyllm,gpt-4o`. */
  llmStrategyValue: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The app columns a create or update sets; absent ones keep their value (or default). */
export type AppFields = Partial<Omit<AppRow, 'appCode' | 'createdAt' | 'updatedAt'>>;

/** The detail columns a create or update sets. */
export type DetailFields = Pick<
  DetailRow,
  'agentName' | 'nodeId' | 'resources' | 'promptTemplate' | 'llmStrategy' | 'llmStrategyValue'
>;

/** An app with its details in order. */
export interface StoredApp {
  app: AppRow;
  details: DetailRow[];
}

/** The columns of an app a run needs, with its agents in order. */
export type RunnableApp = Pick<
  AppRow,
  'appCode' | 'appName' | 'teamMode' | 'language' | 'teamContext' | 'keepStartRounds' | 'keepEndRounds'
> & { details: RunnableDetail[] };

/** The columns of a detail a run needs. */
export type RunnableDetail = Pick<
  DetailRow,
  'agentName' | 'resources' | 'promptTemplate' | 'llmStrategy' | 'llmStrategyValue'
>;

/** Filters of a list of apps; each one present narrows it. */
export interface AppFilter {
  /** The owner, or with `collected`, the collector. */
  userCode?: string;
  sysCode?: string;
  teamMode?: string;
  published?: boolean;
  /** A substring of the name, matched literally and case-insensitively. */
  nameContains?: string;
  /** Collected (or not) by `userCode`; without a user, by anyone (or by no one). */
  collected?: boolean;
}

/** What an update changes; `details`, when given, replaces them all. */
export interface AppChange {
  fields: AppFields;
  details?: DetailFields[];
}

const APP_COLUMNS: Record<keyof AppRow, string> = {
  appCode: 'app_code',
  appName: 'app_name',
  appDescribe: 'app_describe',
  teamMode: 'team_mode',
  language: 'language',
  teamContext: 'team_context',
  userCode: 'user_code',
  sysCode: 'sys_code',
  icon: 'icon',
  published: 'published',
  paramNeed: 'param_need',
  recommendQuestions: 'recommend_questions',
  admins: 'admins',
  keepStartRounds: 'keep_start_rounds',
  keepEndRounds: 'keep_end_rounds',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};

const DETAIL_COLUMNS: Record<keyof DetailRow, string> = {
  id: 'id',
  appCode: 'app_code',
  position: 'position',
  agentName: 'agent_name',
  nodeId: 'node_id',
  resources: 'resources',
  promptTemplate: 'prompt_template',
  llmStrategy: 'llm_strategy',
  llmStrategyValue: 'llm_strategy_value',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};

/** The columns a create or update writes to a detail, in insert order. */
const DETAIL_FIELDS: (keyof DetailFields)[] = [
  'agentName',
  'nodeId',
  'resources',
  'promptTemplate',
  'llmStrategy',
  'llmStrategyValue',
];

/** jsonb columns: their values are sent as JSON text (the driver would send an array as a Postgres array). */
const JSONB = new Set<string>(['team_context', 'param_need', 'recommend_questions', 'admins', 'resources']);

/** `alias.column AS "property", …`: rows come back keyed by property. */
const selectList = (columns: Record<string, string>, alias: string) =>
  Object.entries(columns)
    .map(([property, column]) => `${alias}.${column} AS "${property}"`)
    .join(', ');

const APP_SELECT = selectList(APP_COLUMNS, 'a');
const DETAIL_SELECT = selectList(DETAIL_COLUMNS, 'd');

/** Escapes LIKE wildcards so a search string is matched literally. */
export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Collects parameters and hands back their placeholders. */
class Params {
  readonly values: unknown[] = [];

  /** The placeholder of `value`; jsonb columns take JSON text (SQL NULL for null). */
  add(value: unknown, column?: string): string {
    const json = column !== undefined && JSONB.has(column) && value !== null;
    return `$${this.values.push(json ? JSON.stringify(value) : value)}`;
  }
}

/** Column/value pairs of the fields present, in the table's column names. */
function columnsOf<T extends object>(fields: T, names: Record<string, string>): [string, unknown][] {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([property, value]) => [names[property], value]);
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** jsonb reorders keys, so resources are compared in the wire's key order. */
const sameDetail = (row: DetailFields, fields: DetailFields) =>
  (Object.keys(fields) as (keyof DetailFields)[]).every((k) =>
    k === 'resources'
      ? sameJson(normalizeResources(row.resources), normalizeResources(fields.resources))
      : sameJson(row[k], fields[k]),
  );

/**
 * Every statement on `apps`, `app_details` and `app_collections`: plain SQL
 * through `Sql` (reads on the pool, writes in one transaction), rows keyed
 * by property, and Postgres failures turned into `AppsError`s.
 */
@Injectable()
export class AppsRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * One page of apps, newest first, and the number of apps the filter
   * matches (counted only when the page does not tell it: a full page, or
   * an empty one past the first).
   */
  page(filter: AppFilter, limit: number, offset: number): Promise<{ apps: AppRow[]; total: number }> {
    return this.translate(undefined, async () => {
      const params = new Params();
      const where: string[] = [];
      const { userCode, collected } = filter;
      if (userCode !== undefined && collected === undefined) where.push(`a.user_code = ${params.add(userCode)}`);
      if (filter.sysCode !== undefined) where.push(`a.sys_code = ${params.add(filter.sysCode)}`);
      if (filter.teamMode !== undefined) where.push(`a.team_mode = ${params.add(filter.teamMode)}`);
      if (filter.published !== undefined) where.push(`a.published = ${params.add(filter.published)}`);
      if (filter.nameContains) {
        where.push(`a.app_name ILIKE ${params.add(`%${escapeLike(filter.nameContains)}%`)} ESCAPE '\\'`);
      }
      if (collected !== undefined) {
        const byUser = userCode !== undefined ? ` AND c.user_code = ${params.add(userCode)}` : '';
        const exists = `EXISTS (SELECT 1 FROM app_collections c WHERE c.app_code = a.app_code${byUser})`;
        where.push(collected ? exists : `NOT ${exists}`);
      }
      const condition = where.length ? ` WHERE ${where.join(' AND ')}` : '';
      const filterValues = params.values.slice();
      const apps = await this.sql.query<AppRow>(
        `SELECT ${APP_SELECT} FROM apps a${condition} ORDER BY a.created_at DESC, a.app_code ASC` +
          ` LIMIT ${params.add(limit)} OFFSET ${params.add(offset)}`,
        params.values,
      );
      const counted = apps.length === limit || (apps.length === 0 && offset > 0);
      const total = counted
        ? (await this.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM apps a${condition}`, filterValues))[0].n
        : offset + apps.length;
      return { apps, total };
    });
  }

  /** One app, or undefined. */
  find(appCode: string): Promise<AppRow | undefined> {
    return this.translate(appCode, async () => (await this.findApp(this.sql.query, appCode))[0]);
  }

  /** The details of some apps, by app then position. */
  details(appCodes: string[]): Promise<DetailRow[]> {
    return this.translate(undefined, () => this.detailsOf(this.sql.query, appCodes));
  }

  /** Which of these apps the user has collected. */
  collectedBy(appCodes: string[], userCode: string): Promise<Set<string>> {
    return this.translate(undefined, async () => {
      const rows = await this.sql.query<{ appCode: string }>(
        'SELECT c.app_code AS "appCode" FROM app_collections c WHERE c.app_code = ANY($1) AND c.user_code = $2',
        [appCodes, userCode],
      );
      return new Set(rows.map((r) => r.appCode));
    });
  }

  /** The app as a run needs it, its details in order (one round trip); undefined when unknown. */
  runnable(appCode: string): Promise<RunnableApp | undefined> {
    return this.translate(appCode, async () => {
      const rows = await this.sql.query<RunnableApp>(
        `SELECT a.app_code AS "appCode", a.app_name AS "appName", a.team_mode AS "teamMode", a.language,
                a.team_context AS "teamContext", a.keep_start_rounds AS "keepStartRounds", a.keep_end_rounds AS "keepEndRounds",
                COALESCE((SELECT json_agg(json_build_object(
                           'agentName', d.agent_name, 'resources', d.resources, 'promptTemplate', d.prompt_template,
                           'llmStrategy', d.llm_strategy, 'llmStrategyValue', d.llm_strategy_value) ORDER BY d.position)
                          FROM app_details d WHERE d.app_code = a.app_code), '[]'::json) AS details
           FROM apps a WHERE a.app_code = $1`,
        [appCode],
      );
      return rows[0];
    });
  }

  /** Inserts an app and its details in one transaction; returns them as stored. */
  create(appCode: string, fields: AppFields, details: DetailFields[]): Promise<StoredApp> {
    return this.translate(appCode, () =>
      this.sql.transaction(async (query) => {
        const params = new Params();
        const pairs: [string, unknown][] = [['app_code', appCode], ...columnsOf(fields, APP_COLUMNS)];
        await query(
          `INSERT INTO apps (${pairs.map(([c]) => c).join(', ')}) VALUES (${pairs.map(([c, v]) => params.add(v, c)).join(', ')})`,
          params.values,
        );
        await this.insertDetails(query, appCode, details, 0);
        return this.stored(query, appCode);
      }),
    );
  }

  /**
   * Updates an app in one transaction, its row locked: `change` sees the
   * row as stored and says what to set (it may throw to refuse). Only what
   * differs is written: a detail that did not change keeps its row and
   * timestamps, and `updated_at` moves only when something changed.
   * Undefined when the app is unknown.
   */
  update(appCode: string, change: (current: AppRow) => AppChange): Promise<StoredApp | undefined> {
    return this.translate(appCode, () =>
      this.sql.transaction(async (query) => {
        const [current] = await this.findApp(query, appCode, ' FOR UPDATE');
        if (!current) return undefined;
        const { fields, details } = change(current);
        const differing = Object.fromEntries(
          Object.entries(fields).filter(([k, v]) => !sameJson(current[k as keyof AppRow], v)),
        );
        const pairs = columnsOf(differing, APP_COLUMNS);
        let touched = pairs.length > 0;
        if (details !== undefined) touched = (await this.replaceDetails(query, appCode, details)) || touched;
        if (touched) {
          const params = new Params();
          const sets = pairs.map(([c, v]) => `${c} = ${params.add(v, c)}`);
          sets.push('updated_at = now()');
          await query(`UPDATE apps SET ${sets.join(', ')} WHERE app_code = ${params.add(appCode)}`, params.values);
        }
        return this.stored(query, appCode);
      }),
    );
  }

  /** Deletes an app (its details and collections go with it); false when unknown. */
  remove(appCode: string): Promise<boolean> {
    return this.translate(appCode, async () => {
      const rows = await this.sql.query('DELETE FROM apps WHERE app_code = $1 RETURNING app_code', [appCode]);
      return rows.length > 0;
    });
  }

  /** Adds the app to the user's collection (no-op when there); `AppsError` not found when the app is unknown. */
  collect(appCode: string, userCode: string): Promise<void> {
    return this.translate(appCode, async () => {
      await this.sql.query('INSERT INTO app_collections (app_code, user_code) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        appCode,
        userCode,
      ]);
    });
  }

  /** Removes the app from the user's collection (no-op when absent); false when the app is unknown. */
  uncollect(appCode: string, userCode: string): Promise<boolean> {
    return this.translate(appCode, async () => {
      if (!(await this.exists(appCode))) return false;
      await this.sql.query('DELETE FROM app_collections WHERE app_code = $1 AND user_code = $2', [appCode, userCode]);
      return true;
    });
  }

  private async exists(appCode: string): Promise<boolean> {
    return (await this.sql.query('SELECT 1 FROM apps WHERE app_code = $1', [appCode])).length > 0;
  }

  private findApp(query: Query, appCode: string, lock = ''): Promise<AppRow[]> {
    return query<AppRow>(`SELECT ${APP_SELECT} FROM apps a WHERE a.app_code = $1${lock}`, [appCode]);
  }

  /** One statement, the same text for any number of apps (one array parameter). */
  private detailsOf(query: Query, appCodes: string[]): Promise<DetailRow[]> {
    if (!appCodes.length) return Promise.resolve([]);
    return query<DetailRow>(
      `SELECT ${DETAIL_SELECT} FROM app_details d WHERE d.app_code = ANY($1) ORDER BY d.app_code ASC, d.position ASC`,
      [appCodes],
    );
  }

  private async stored(query: Query, appCode: string): Promise<StoredApp> {
    const [app] = await this.findApp(query, appCode);
    return { app, details: await this.detailsOf(query, [appCode]) };
  }

  private async insertDetails(query: Query, appCode: string, details: DetailFields[], from: number): Promise<void> {
    if (!details.length) return;
    const params = new Params();
    const columns = ['app_code', 'position', ...DETAIL_FIELDS.map((p) => DETAIL_COLUMNS[p])];
    const rows = details.map((d, i) => {
      const values = [
        params.add(appCode),
        params.add(from + i),
        ...DETAIL_FIELDS.map((p) => params.add(d[p], DETAIL_COLUMNS[p])),
      ];
      return `(${values.join(', ')})`;
    });
    await query(`INSERT INTO app_details (${columns.join(', ')}) VALUES ${rows.join(', ')}`, params.values);
  }

  /** Details replaced as a whole, unchanged rows kept; whether anything changed. */
  private async replaceDetails(query: Query, appCode: string, details: DetailFields[]): Promise<boolean> {
    const existing = await this.detailsOf(query, [appCode]);
    let touched = false;
    if (existing.length > details.length) {
      await query('DELETE FROM app_details WHERE app_code = $1 AND position >= $2', [appCode, details.length]);
      touched = true;
    }
    for (const [position, fields] of details.slice(0, existing.length).entries()) {
      if (sameDetail(existing[position], fields)) continue;
      const params = new Params();
      const sets = columnsOf(fields, DETAIL_COLUMNS).map(([c, v]) => `${c} = ${params.add(v, c)}`);
      sets.push('updated_at = now()');
      await query(
        `UPDATE app_details SET ${sets.join(', ')} WHERE id = ${params.add(existing[position].id)}`,
        params.values,
      );
      touched = true;
    }
    if (details.length > existing.length) {
      await this.insertDetails(query, appCode, details.slice(existing.length), existing.length);
      touched = true;
    }
    return touched;
  }

  /** Runs `work`, turning the Postgres failures a caller can cause into `AppsError`s. */
  private async translate<T>(appCode: string | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      const failure = pgError(e);
      switch (failure?.code) {
        case PgCode.UniqueViolation:
          if (failure.constraint === 'apps_app_name_key') throw AppsError.nameTaken();
          if (failure.constraint === 'apps_pkey') throw AppsError.codeTaken();
          break;
        case PgCode.ForeignKeyViolation:
          if (appCode !== undefined) throw AppsError.notFound(appCode);
          break;
        case PgCode.CharacterNotInRepertoire:
        case PgCode.UntranslatableCharacter:
          throw AppsError.nulInText();
      }
      throw e;
    }
  }
}
