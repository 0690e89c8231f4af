import type { ChatMessage } from '@ensemble/llm';

export const CHAT_MODES = ['chat_normal', 'chat_app', 'chat_data', 'chat_db_qa', 'chat_knowledge'] as const;
export type ChatMode = (typeof CHAT_MODES)[number];

/**
 * A chat request after validation (`ChatRequestPipe`, from `ChatRequestDto`), with DB-GPT's defaults
 * applied (the chat wire contract (README, Chat API)).
 */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /** The last user message: the input of a team run and the title of a conversation. */
  input: string;
  stream: boolean;
  chatMode: ChatMode;
  chatParam?: string;
  convUid?: string;
  userName?: string;
  sysCode?: string;
  incremental: boolean;
  enableVis: boolean;
  includeUsage: boolean;
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  /** The run goes on when the client leaves, its stream kept for resuming (SPEC §10). */
  background: boolean;
  /** The body carries a DB-GPT field: the answer keeps to what DB-GPT's client accepts. */
  dbgptFamily: boolean;
}
