import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, EntityTarget, In, ObjectLiteral, QueryFailedError } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { AppDefinition } from '@ensemble/agents';
import { poolRows, RowsQuery } from '../database/pool-sql';
import { ApiError } from '../common/api-error';
import { DatasourcesService } from '../datasources/datasources.service';
import {
  appDefinition,
  appView,
  normalizeResources,
  normalizeStrategyValue,
  RunnableApp,
  RunnableDetail,
} from './app.mapper';
import type { AppListView, AppView } from './app.types';
import { AppDetailDto, CreateAppDto, UpdateAppDto } from './dto/app.dto';
import { ListAppsQuery } from './dto/list-apps.query';
import { AppCollectionEntity } from './entities/app-collection.entity';
import { AppDetailEntity } from './entities/app-detail.entity';
import { AppEntity } from './entities/app.entity';

/** Escapes LIKE wildcards so a search string is matched literally. */
export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

const notFound = (appCode: string) =>
  ApiError.notFound('app_not_found', `App ${JSON.stringify(appCode)} was not found.`, 'app_code');

/** The columns of a detail that a PUT may change, as stored. */
type DetailFields = Pick<
  AppDetailEntity,
  'agentName' | 'nodeId' | 'resources' | 'promptTemplate' | 'llmStrategy' | 'llmStrategyValue'
>;

function detailFields(d: AppDetailDto): DetailFields {
  return {
    agentName: d.agent_name,
    nodeId: d.node_id ?? null,
    resources: normalizeResources(d.resources),
    promptTemplate: d.prompt_template ?? null,
    llmStrategy: d.llm_strategy ?? 'default',
    llmStrategyValue: normalizeStrategyValue(d.llm_strategy_value),
  };
}

const sameDetail = (a: DetailFields, b: DetailFields) =>
  a.agentName === b.agentName &&
  a.nodeId === b.nodeId &&
  a.promptTemplate === b.promptTemplate &&
  a.llmStrategy === b.llmStrategy &&
  a.llmStrategyValue === b.llmStrategyValue &&
  JSON.stringify(normalizeResources(a.resources)) === JSON.stringify(normalizeResources(b.resources));

/** App columns as TypeORM's insert/update take them. */
type AppFields = QueryDeepPartialEntity<AppEntity>;

/** App columns set from a create or update body; only the fields present. */
function appFields(dto: UpdateAppDto): AppFields {
  const f: Partial<AppEntity> = {};
  if (dto.app_name !== undefined) f.appName = dto.app_name;
  if (dto.app_describe !== undefined) f.appDescribe = dto.app_describe;
  if (dto.team_mode !== undefined) f.teamMode = dto.team_mode;
  if (dto.language !== undefined) f.language = dto.language;
  if (dto.team_context !== undefined) f.teamContext = dto.team_context;
  if (dto.user_code !== undefined) f.userCode = dto.user_code;
  if (dto.sys_code !== undefined) f.sysCode = dto.sys_code;
  if (dto.icon !== undefined) f.icon = dto.icon;
  if (dto.published !== undefined) f.published = dto.published;
  if (dto.param_need !== undefined) f.paramNeed = dto.param_need;
  if (dto.recommend_questions !== undefined) f.recommendQuestions = dto.recommend_questions;
  if (dto.admins !== undefined) f.admins = dto.admins;
  if (dto.keep_start_rounds !== undefined) f.keepStartRounds = dto.keep_start_rounds;
  if (dto.keep_end_rounds !== undefined) f.keepEndRounds = dto.keep_end_rounds;
  return f as AppFields;
}

const changed = (entity: AppEntity, fields: AppFields) =>
  Object.entries(fields).some(([k, v]) => JSON.stringify(entity[k as keyof AppEntity]) !== JSON.stringify(v));

interface SelectList {
  /** `alias."column", …`: every column of the entity, read back by `fromRow`. */
  select: string;
  /** [property, column] pairs. */
  columns: (readonly [string, string])[];
}

function selectList(db: DataSource, entity: EntityTarget<ObjectLiteral>, alias: string): SelectList {
  const columns = db.getMetadata(entity).columns.map((c) => [c.propertyName, c.databaseName] as const);
  return { select: columns.map(([, name]) => `${alias}."${name}"`).join(', '), columns };
}

/**
 * An entity-shaped object from a raw row: each property from its column key,
 * without TypeORM's entity hydration (its per-row, per-column work was the
 * largest CPU cost of listing apps). For these entities' column types (text,
 * int, boolean, jsonb, timestamptz, bigint as string) the value the pg driver
 * parsed is the value TypeORM would set, so the views are the same.
 */
function fromRow<T>(row: Record<string, unknown>, columns: readonly (readonly [string, string])[]): T {
  const entity: Record<string, unknown> = {};
  for (const [property, key] of columns) entity[property] = row[key];
  return entity as T;
}

/** The Apps admin rules: listing with filters, atomic create/update, collections. */
@Injectable()
export class AppsService {
  /** Select lists of the app and detail rows, built once from the entities' metadata. */
  private selects?: { app: SelectList; detail: SelectList };

  /** Reads outside transactions, straight on the pool. */
  private readonly rows: RowsQuery;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly datasources: DatasourcesService,
  ) {
    this.rows = poolRows(db);
  }

  async list(q: ListAppsQuery): Promise<AppListView> {
    const page = q.page ?? 1;
    const pageSize = q.page_size ?? 20;
    if (q.is_collected !== undefined && !q.user_code) {
      throw ApiError.badRequest(
        'validation_error',
        'user_code is required with is_collected (whose collection?).',
        'user_code',
      );
    }
    // Hand-built SQL (the query builder costs more CPU than the queries): filters, page, and a count when needed.
    const params: unknown[] = [];
    const p = (value: unknown) => `$${params.push(value)}`;
    const where: string[] = [];
    // With is_collected, user_code names the collector; otherwise it filters by owner.
    if (q.user_code !== undefined && q.is_collected === undefined) where.push(`a.user_code = ${p(q.user_code)}`);
    if (q.sys_code !== undefined) where.push(`a.sys_code = ${p(q.sys_code)}`);
    if (q.team_mode !== undefined) where.push(`a.team_mode = ${p(q.team_mode)}`);
    if (q.published !== undefined) where.push(`a.published = ${p(q.published === 'true')}`);
    if (q.app_name) where.push(`a.app_name ILIKE ${p(`%${escapeLike(q.app_name)}%`)} ESCAPE '\\'`);
    if (q.is_collected !== undefined) {
      const exists = `EXISTS (SELECT 1 FROM app_collections c WHERE c.app_code = a.app_code AND c.user_code = ${p(q.user_code)})`;
      where.push(q.is_collected === 'true' ? exists : `NOT ${exists}`);
    }
    const filter = where.length ? ` WHERE ${where.join(' AND ')}` : '';
    const filterParams = params.slice();
    const offset = (page - 1) * pageSize;
    const { select, columns } = this.selectLists().app;
    const rows = await this.rows(
      `SELECT ${select} FROM apps a${filter} ORDER BY a.created_at DESC, a.app_code ASC LIMIT ${p(pageSize)} OFFSET ${p(offset)}`,
      params,
    );
    const apps = rows.map((row) => fromRow<AppEntity>(row, columns));
    // As getManyAndCount: a COUNT only when the page is full, or empty past the first page.
    const counted = apps.length === pageSize || (apps.length === 0 && offset > 0);
    const total = counted
      ? Number((await this.rows(`SELECT count(*)::int AS n FROM apps a${filter}`, filterParams))[0].n)
      : offset + apps.length;
    const views = await this.views(this.db.manager, apps, q.user_code, this.rows);
    return { app_list: views, total_count: total, total_page: Math.ceil(total / pageSize), current_page: page };
  }

  async get(appCode: string, userCode?: string): Promise<AppView> {
    const app = await this.db.getRepository(AppEntity).findOneBy({ appCode });
    if (!app) throw notFound(appCode);
    return (await this.views(this.db.manager, [app], userCode))[0];
  }

  /** The app as the Agents library runs it; 404 `app_not_found` when unknown. */
  async definition(appCode: string): Promise<AppDefinition> {
    // On every chat_app request: one round trip, no entity building.
    const rows = (await this.rows(
      `SELECT a.app_code AS "appCode", a.app_name AS "appName", a.team_mode AS "teamMode", a.language,
              a.team_context AS "teamContext", a.keep_start_rounds AS "keepStartRounds", a.keep_end_rounds AS "keepEndRounds",
              COALESCE((SELECT json_agg(json_build_object(
                         'agentName', d.agent_name, 'resources', d.resources, 'promptTemplate', d.prompt_template,
                         'llmStrategy', d.llm_strategy, 'llmStrategyValue', d.llm_strategy_value) ORDER BY d.position)
                        FROM app_details d WHERE d.app_code = a.app_code), '[]'::json) AS details
         FROM apps a WHERE a.app_code = $1`,
      [appCode],
    )) as (RunnableApp & { details: RunnableDetail[] })[];
    if (!rows.length) throw notFound(appCode);
    return appDefinition(rows[0], rows[0].details);
  }

  async create(dto: CreateAppDto): Promise<AppView> {
    const appCode = dto.app_code ?? randomUUID();
    await this.datasources.checkResources(dto.details);
    return this.write(async (em) => {
      await em.insert(AppEntity, { ...appFields(dto), appCode });
      if (dto.details?.length) {
        await em.insert(
          AppDetailEntity,
          dto.details.map((d, position) => ({ ...detailFields(d), appCode, position })),
        );
      }
      return this.reload(em, appCode);
    });
  }

  async update(appCode: string, dto: UpdateAppDto): Promise<AppView> {
    if (dto.app_code !== undefined && dto.app_code !== appCode) {
      throw ApiError.badRequest(
        'validation_error',
        `app_code in the body (${JSON.stringify(dto.app_code)}) differs from the path (${JSON.stringify(appCode)}).`,
        'app_code',
      );
    }
    await this.datasources.checkResources(dto.details);
    return this.write(async (em) => {
      const app = await em
        .getRepository(AppEntity)
        .findOne({ where: { appCode }, lock: { mode: 'pessimistic_write' } });
      if (!app) throw notFound(appCode);
      const fields = appFields(dto);
      let touched = changed(app, fields);
      if (dto.details !== undefined) touched = (await this.replaceDetails(em, appCode, dto.details)) || touched;
      if (touched) await em.update(AppEntity, { appCode }, { ...fields, updatedAt: () => 'now()' });
      return this.reload(em, appCode);
    });
  }

  async remove(appCode: string): Promise<void> {
    const result = await this.db.getRepository(AppEntity).delete({ appCode });
    if (!result.affected) throw notFound(appCode);
  }

  async collect(appCode: string, userCode: string): Promise<void> {
    try {
      await this.db
        .createQueryBuilder()
        .insert()
        .into(AppCollectionEntity)
        .values({ appCode, userCode })
        .orIgnore()
        .execute();
    } catch (e) {
      if (e instanceof QueryFailedError && (e.driverError as { code?: string }).code === '23503')
        throw notFound(appCode);
      throw e;
    }
  }

  async uncollect(appCode: string, userCode: string): Promise<void> {
    if (!(await this.db.getRepository(AppEntity).existsBy({ appCode }))) throw notFound(appCode);
    await this.db.getRepository(AppCollectionEntity).delete({ appCode, userCode });
  }

  /**
   * Details are replaced as a whole, but a detail that did not change keeps
   * its row and timestamps, so GET → PUT → GET returns the same body.
   * Returns whether anything changed.
   */
  private async replaceDetails(em: EntityManager, appCode: string, details: AppDetailDto[]): Promise<boolean> {
    const existing = await em.find(AppDetailEntity, { where: { appCode }, order: { position: 'ASC' } });
    let touched = existing.length > details.length;
    if (existing.length > details.length) {
      await em.delete(AppDetailEntity, { id: In(existing.slice(details.length).map((d) => d.id)) });
    }
    for (const [position, dto] of details.entries()) {
      const fields = detailFields(dto);
      const row = existing[position];
      if (!row) {
        await em.insert(AppDetailEntity, { ...fields, appCode, position });
        touched = true;
      } else if (!sameDetail(row, fields)) {
        await em.update(AppDetailEntity, { id: row.id }, { ...fields, updatedAt: () => 'now()' });
        touched = true;
      }
    }
    return touched;
  }

  private async reload(em: EntityManager, appCode: string): Promise<AppView> {
    const app = await em.findOneByOrFail(AppEntity, { appCode });
    return (await this.views(em, [app]))[0];
  }

  /**
   * Views of apps with their details (one query) and, for a user, their
   * collected flag (one query); `read` runs the details query (by default
   * on `em`, so inside its transaction).
   */
  private async views(
    em: EntityManager,
    apps: AppEntity[],
    userCode?: string,
    read: RowsQuery = (sql, params) => em.query(sql, params),
  ): Promise<AppView[]> {
    if (!apps.length) return [];
    const codes = apps.map((a) => a.appCode);
    const details = await this.details(read, codes);
    const collected = userCode
      ? new Set((await em.find(AppCollectionEntity, { where: { appCode: In(codes), userCode } })).map((c) => c.appCode))
      : new Set<string>();
    const byApp = new Map<string, AppDetailEntity[]>();
    for (const d of details) {
      const list = byApp.get(d.appCode);
      if (list) list.push(d);
      else byApp.set(d.appCode, [d]);
    }
    return apps.map((a) => appView(a, byApp.get(a.appCode) ?? [], collected.has(a.appCode)));
  }

  private selectLists() {
    return (this.selects ??= {
      app: selectList(this.db, AppEntity, 'a'),
      detail: selectList(this.db, AppDetailEntity, 'd'),
    });
  }

  /**
   * The details of some apps, by app then position: one statement, the same
   * text for any number of apps (one array parameter); rows read by `fromRow`.
   */
  private async details(read: RowsQuery, codes: string[]): Promise<AppDetailEntity[]> {
    const { select, columns } = this.selectLists().detail;
    const rows = await read(
      `SELECT ${select} FROM app_details d WHERE d.app_code = ANY($1) ORDER BY d.app_code ASC, d.position ASC`,
      [codes],
    );
    return rows.map((row) => fromRow<AppDetailEntity>(row, columns));
  }

  /** One transaction; unique violations become 409 naming the field. */
  private async write<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(work);
    } catch (e) {
      if (e instanceof QueryFailedError) {
        const { code, constraint } = e.driverError as { code?: string; constraint?: string };
        if (code === '23505' && constraint === 'apps_app_name_key') {
          throw ApiError.conflict('app_name_conflict', 'An app with this app_name already exists.', 'app_name');
        }
        if (code === '23505' && constraint === 'apps_pkey') {
          throw ApiError.conflict('app_code_conflict', 'An app with this app_code already exists.', 'app_code');
        }
      }
      throw e;
    }
  }
}
