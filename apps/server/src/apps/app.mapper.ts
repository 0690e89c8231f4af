import type { AppDefinition, TeamMode } from '@ensemble/agents';
import { isRecord, type LlmStrategy } from '@ensemble/llm';
import type { AppDetailView, AppResourceJson, AppView } from './app.types';
import type { AppResourceDto } from './dto/app.dto';
import type { AppRow, DetailRow, RunnableApp, RunnableDetail } from './apps.repository';

/**
 * The priority list as one comma-separated string. Accepts an array, a
 * comma-separated string, or a JSON-encoded array (as DB-GPT double-encodes
 * it), so every form is stored the same way and reads back unchanged.
 */
export function normalizeStrategyValue(value: string | string[] | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  let items: string[];
  if (Array.isArray(value)) {
    items = value;
  } else {
    const trimmed = value.trim();
    let parsed: unknown;
    if (trimmed.startsWith('[')) {
      try {
        parsed = JSON.parse(trimmed);
      } catch {
        parsed = undefined;
      }
    }
    items = Array.isArray(parsed) && parsed.every((s) => typeof s === 'string') ? parsed : trimmed.split(',');
  }
  const names = items.map((s) => s.trim()).filter((s) => s.length > 0);
  return names.length ? names.join(',') : null;
}

/** Resources in the wire's key order (jsonb reorders keys), `is_dynamic` defaulted. */
export function normalizeResources(resources: Omit<AppResourceDto, never>[] | undefined): AppResourceJson[] {
  return (resources ?? []).map((r) => ({
    type: r.type,
    name: r.name,
    value: r.value,
    is_dynamic: r.is_dynamic ?? false,
  }));
}

export function detailView(app: AppRow, d: DetailRow): AppDetailView {
  return {
    app_code: app.appCode,
    app_name: app.appName,
    agent_name: d.agentName,
    node_id: d.nodeId,
    resources: normalizeResources(d.resources),
    prompt_template: d.promptTemplate,
    llm_strategy: d.llmStrategy,
    llm_strategy_value: d.llmStrategyValue,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}

export function appView(app: AppRow, details: DetailRow[], collected: boolean): AppView {
  return {
    app_code: app.appCode,
    app_name: app.appName,
    app_describe: app.appDescribe,
    team_mode: app.teamMode,
    language: app.language,
    // In the form it was given: a string stays a string, an object (AWEL team, native scene) an object.
    team_context: app.teamContext,
    user_code: app.userCode,
    sys_code: app.sysCode,
    is_collected: collected ? 'true' : 'false',
    icon: app.icon,
    published: app.published ? 'true' : 'false',
    param_need: app.paramNeed,
    recommend_questions: app.recommendQuestions,
    admins: app.admins,
    keep_start_rounds: app.keepStartRounds,
    keep_end_rounds: app.keepEndRounds,
    created_at: app.createdAt.toISOString(),
    updated_at: app.updatedAt.toISOString(),
    details: details.map((d) => detailView(app, d)),
  };
}

function strategyOf(d: RunnableDetail): LlmStrategy {
  if (d.llmStrategy === 'priority' && d.llmStrategyValue) {
    return { type: 'priority', models: d.llmStrategyValue.split(',') };
  }
  return { type: 'default' };
}

/** `team_context` as an object when it holds one (directly or as JSON text). */
function teamContextObject(value: AppRow['teamContext']): string | Record<string, unknown> | null {
  if (typeof value !== 'string') return value;
  try {
    const parsed: unknown = JSON.parse(value);
    return isRecord(parsed) ? parsed : value;
  } catch {
    return value;
  }
}

/** What the Agents library runs: the app with its agents in order. */
export function appDefinition(app: Omit<RunnableApp, 'details'>, details: RunnableDetail[]): AppDefinition {
  return {
    appCode: app.appCode,
    appName: app.appName,
    teamMode: app.teamMode as TeamMode,
    language: app.language,
    teamContext: teamContextObject(app.teamContext),
    agents: details.map((d) => ({
      agentName: d.agentName,
      resources: d.resources,
      promptTemplate: d.promptTemplate,
      llmStrategy: strategyOf(d),
    })),
    keepStartRounds: app.keepStartRounds,
    keepEndRounds: app.keepEndRounds,
  };
}
