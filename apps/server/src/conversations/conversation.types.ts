/** What the conversations routes send, snake_case. */
import type { PageTotalsView } from '../common/page.response';
import type { RunState, StepState } from './runs.repository';

/** Stored token counts in OpenAI's usage shape. */
export interface UsageView {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ConversationSummaryView {
  conv_uid: string;
  key_id: string | null;
  chat_mode: string;
  app_code: string | null;
  user_name: string | null;
  sys_code: string | null;
  title: string;
  state: RunState;
  turn_count: number;
  created_at: string;
  updated_at: string;
}

export interface MessageView {
  round: number;
  step_num: number | null;
  sender: string;
  receiver: string;
  model: string | null;
  content: string;
  success: boolean;
  usage: UsageView;
  resource: unknown;
  created_at: string;
}

export interface PlanStepView {
  num: number;
  title: string;
  agent: string;
  rely: number[];
  state: StepState;
  retries: number;
  result: string | null;
  error: string | null;
}

export interface TurnView {
  run_id: string;
  turn: number;
  chat_mode: string;
  team_mode: string | null;
  model: string | null;
  input: string;
  answer: string | null;
  state: RunState;
  error: string | null;
  usage: UsageView;
  started_at: string;
  finished_at: string | null;
  messages: MessageView[];
  plan_steps: PlanStepView[];
}

export interface ConversationView extends ConversationSummaryView {
  turns: TurnView[];
}

export interface ConversationListView extends PageTotalsView {
  conversations: ConversationSummaryView[];
}
