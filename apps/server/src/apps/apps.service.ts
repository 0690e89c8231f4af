import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { NATIVE_CHAT_SCENES, nativeChatScene, type AppDefinition } from '@ensemble/agents';
import { appDefinition, appView, normalizeResources, normalizeStrategyValue } from './app.mapper';
import type { AppListView, AppView } from './app.types';
import { pageOffset, pageTotals } from '../common/page.query';
import { AppsError } from './apps.errors';
import { AppResourceChecks } from './resource-checks';
import { AppFields, AppRow, AppsRepository, DetailFields, StoredApp } from './apps.repository';
import { AppDetailDto, CreateAppDto, UpdateAppDto } from './dto/app.dto';
import { ListAppsQuery } from './dto/list-apps.query';

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

/**
 * App columns set from a create or update body; only the fields present.
 * A null (DB-GPT's models send them for fields they leave unset) of a column
 * that always has a value counts as absent.
 */
function appFields(dto: UpdateAppDto): AppFields {
  const f: AppFields = {};
  if (dto.app_name != null) f.appName = dto.app_name;
  if (dto.app_describe != null) f.appDescribe = dto.app_describe;
  if (dto.team_mode != null) f.teamMode = dto.team_mode;
  if (dto.language != null) f.language = dto.language;
  if (dto.team_context !== undefined) f.teamContext = dto.team_context;
  if (dto.user_code !== undefined) f.userCode = dto.user_code;
  if (dto.sys_code !== undefined) f.sysCode = dto.sys_code;
  if (dto.icon !== undefined) f.icon = dto.icon;
  if (dto.published != null) f.published = dto.published;
  if (dto.param_need != null) f.paramNeed = dto.param_need;
  if (dto.recommend_questions != null) f.recommendQuestions = dto.recommend_questions;
  if (dto.admins != null) f.admins = dto.admins;
  if (dto.keep_start_rounds != null) f.keepStartRounds = dto.keep_start_rounds;
  if (dto.keep_end_rounds != null) f.keepEndRounds = dto.keep_end_rounds;
  return f;
}

/** A native app must name a scene this server runs; refused at create/update, not found out in a run. */
function checkNativeScene(teamMode: string, teamContext: AppRow['teamContext'] | undefined): void {
  if (teamMode !== 'native_app') return;
  const scene = nativeChatScene(teamContext);
  if (!(NATIVE_CHAT_SCENES as readonly string[]).includes(scene)) {
    throw AppsError.invalid(
      `team_context.chat_scene ${JSON.stringify(scene)} is not served for native apps; served scenes: ${NATIVE_CHAT_SCENES.join(', ')}.`,
      'team_context.chat_scene',
    );
  }
}

const storedView = ({ app, details }: StoredApp) => appView(app, details, false);

/** The Apps admin rules: listing with filters, atomic create/update, collections. */
@Injectable()
export class AppsService {
  constructor(
    private readonly repo: AppsRepository,
    private readonly resources: AppResourceChecks,
  ) {}

  async list(q: ListAppsQuery): Promise<AppListView> {
    const userCode = q.user_code ?? q.user_name;
    const collected = q.is_collected === undefined ? undefined : q.is_collected === 'true';
    const { apps, total } = await this.repo.page(
      {
        userCode,
        sysCode: q.sys_code,
        teamMode: q.team_mode,
        published: q.published === undefined ? undefined : q.published === 'true',
        nameContains: q.app_name,
        collected,
      },
      q.page_size,
      pageOffset(q),
    );
    const views = await this.views(apps, userCode);
    // Without a user, a list filtered by is_collected says of each app what the filter said.
    if (userCode === undefined && q.is_collected !== undefined) for (const v of views) v.is_collected = q.is_collected;
    return { app_list: views, ...pageTotals(q, total) };
  }

  async get(appCode: string, userCode?: string): Promise<AppView> {
    const app = await this.repo.find(appCode);
    if (!app) throw AppsError.notFound(appCode);
    return (await this.views([app], userCode))[0];
  }

  /** The app as the Agents library runs it; `app_not_found` when unknown. */
  async definition(appCode: string): Promise<AppDefinition> {
    const app = await this.repo.runnable(appCode);
    if (!app) throw AppsError.notFound(appCode);
    return appDefinition(app, app.details);
  }

  async create(dto: CreateAppDto): Promise<AppView> {
    checkNativeScene(dto.team_mode, dto.team_context);
    await this.resources.check(dto.details);
    const stored = await this.repo.create(
      dto.app_code ?? randomUUID(),
      appFields(dto),
      (dto.details ?? []).map(detailFields),
    );
    return storedView(stored);
  }

  async update(appCode: string, dto: UpdateAppDto): Promise<AppView> {
    if (dto.app_code !== undefined && dto.app_code !== appCode) {
      throw AppsError.invalid(
        `app_code in the body (${JSON.stringify(dto.app_code)}) differs from the path (${JSON.stringify(appCode)}).`,
        'app_code',
      );
    }
    await this.resources.check(dto.details);
    const stored = await this.repo.update(appCode, (current) => {
      if (dto.team_mode != null || dto.team_context !== undefined) {
        checkNativeScene(
          dto.team_mode ?? current.teamMode,
          dto.team_context !== undefined ? dto.team_context : current.teamContext,
        );
      }
      return { fields: appFields(dto), details: dto.details?.map(detailFields) };
    });
    if (!stored) throw AppsError.notFound(appCode);
    return storedView(stored);
  }

  async remove(appCode: string): Promise<void> {
    if (!(await this.repo.remove(appCode))) throw AppsError.notFound(appCode);
  }

  async collect(appCode: string, userCode: string): Promise<void> {
    await this.repo.collect(appCode, userCode);
  }

  async uncollect(appCode: string, userCode: string): Promise<void> {
    if (!(await this.repo.uncollect(appCode, userCode))) throw AppsError.notFound(appCode);
  }

  /** Views of apps with their details (one query) and, for a user, their collected flag (one query). */
  private async views(apps: AppRow[], userCode?: string): Promise<AppView[]> {
    if (!apps.length) return [];
    const codes = apps.map((a) => a.appCode);
    const details = await this.repo.details(codes);
    const collected = userCode ? await this.repo.collectedBy(codes, userCode) : new Set<string>();
    const byApp = new Map<string, typeof details>();
    for (const d of details) {
      const list = byApp.get(d.appCode);
      if (list) list.push(d);
      else byApp.set(d.appCode, [d]);
    }
    return apps.map((a) => appView(a, byApp.get(a.appCode) ?? [], collected.has(a.appCode)));
  }
}
