/** What the Apps admin API sends and receives, snake_case as DB-GPT does. */

export interface AppResourceJson {
  type: string;
  name: string;
  value: string;
  is_dynamic: boolean;
}

export interface AppDetailView {
  app_code: string;
  app_name: string;
  agent_name: string;
  node_id: string | null;
  resources: AppResourceJson[];
  prompt_template: string | null;
  llm_strategy: string;
  llm_strategy_value: string | null;
  created_at: string;
  updated_at: string;
}

export interface AppView {
  app_code: string;
  app_name: string;
  app_describe: string;
  team_mode: string;
  language: string;
  team_context: string | Record<string, unknown> | null;
  user_code: string | null;
  sys_code: string | null;
  is_collected: 'true' | 'false';
  icon: string | null;
  published: 'true' | 'false';
  param_need: unknown[];
  recommend_questions: unknown[];
  admins: string[];
  keep_start_rounds: number;
  keep_end_rounds: number;
  created_at: string;
  updated_at: string;
  details: AppDetailView[];
}

export interface AppListView {
  app_list: AppView[];
  total_count: number;
  total_page: number;
  current_page: number;
}
