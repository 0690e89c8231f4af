/**
 * An app as DB-GPT exports it (its `GptsApp.to_dict()`): every field of its
 * `GptsApp`, `GptsAppDetail` and `AgentResource` models, in their types,
 * unset ones as null.
 */
export const exportedResource = {
  type: 'text',
  name: 'guide',
  value: 'AWEL is a workflow language',
  is_dynamic: false,
};

export const exportedDetail = {
  app_code: 'exported-app',
  app_name: 'Exported',
  agent_name: 'Summarizer',
  node_id: 'node-1',
  resources: [exportedResource],
  prompt_template: null,
  llm_strategy: 'priority',
  llm_strategy_value: 'fake-gpt,backup-gpt',
  created_at: '2025-01-02T03:04:05',
  updated_at: '2025-01-02T03:04:05',
};

export const exportedApp = {
  app_code: 'exported-app',
  app_name: 'Exported',
  app_describe: 'From DB-GPT',
  team_mode: 'auto_plan',
  language: 'en',
  team_context: null,
  user_code: 'alice',
  sys_code: null,
  is_collected: 'false',
  icon: null,
  created_at: '2025-01-02T03:04:05',
  updated_at: '2025-01-02T03:04:05',
  details: [exportedDetail],
  published: 'true',
  user_name: 'alice',
  user_icon: null,
  hot_value: 7,
  param_need: [{ type: 'model', value: 'fake-gpt' }],
  owner_name: 'Alice',
  owner_avatar_url: null,
  recommend_questions: [{ question: 'What is AWEL?', valid: true }],
  admins: ['alice'],
  keep_start_rounds: 0,
  keep_end_rounds: 2,
};
