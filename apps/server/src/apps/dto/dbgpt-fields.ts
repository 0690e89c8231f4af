/** The fields of DB-GPT's `GptsApp`, `GptsAppDetail` and `AgentResource` models: an app body may carry any of them. */
export const DBGPT_APP_FIELDS = [
  'app_code',
  'app_name',
  'app_describe',
  'team_mode',
  'language',
  'team_context',
  'user_code',
  'sys_code',
  'is_collected',
  'icon',
  'created_at',
  'updated_at',
  'details',
  'published',
  'user_name',
  'user_icon',
  'hot_value',
  'param_need',
  'owner_name',
  'owner_avatar_url',
  'recommend_questions',
  'admins',
  'keep_start_rounds',
  'keep_end_rounds',
] as const;

export const DBGPT_APP_DETAIL_FIELDS = [
  'app_code',
  'app_name',
  'agent_name',
  'node_id',
  'resources',
  'prompt_template',
  'llm_strategy',
  'llm_strategy_value',
  'created_at',
  'updated_at',
] as const;

export const DBGPT_RESOURCE_FIELDS = ['type', 'name', 'value', 'is_dynamic'] as const;
