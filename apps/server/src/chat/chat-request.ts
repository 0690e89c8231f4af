import type { ChatMessage } from '@ensemble/llm';
import { ApiError } from '../common/api-error';
import { UNSUPPORTED_CHAT_MODES } from './dbgpt-compat';
import { isRecord } from '../common/is-record';

export const CHAT_MODES = ['chat_normal', 'chat_app', 'chat_data', 'chat_db_qa', 'chat_knowledge'] as const;
export type ChatMode = (typeof CHAT_MODES)[number];

/** A chat request after validation, with DB-GPT's defaults applied (the chat wire contract (README, Chat API)). */
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

const bad = (code: Parameters<typeof ApiError.badRequest>[0], message: string, param: string) =>
  ApiError.badRequest(code, message, param);
const invalid = (param: string, message: string) => bad('validation_error', `${param} ${message}`, param);

const present = (v: unknown) => v !== undefined && v !== null;

function optionalString(body: Record<string, unknown>, key: string, max = 255): string | undefined {
  const v = body[key];
  if (!present(v)) return undefined;
  if (typeof v !== 'string') throw invalid(key, 'must be a string');
  if (v.length > max) throw invalid(key, `must be at most ${max} characters`);
  return v;
}

function optionalBoolean(body: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = body[key];
  if (!present(v)) return fallback;
  if (typeof v !== 'boolean') throw invalid(key, 'must be a boolean');
  return v;
}

function optionalNumber(
  body: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  const v = body[key];
  if (!present(v)) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw invalid(key, `must be ${integer ? 'an integer' : 'a number'}`);
  }
  if (v < min || v > max) throw invalid(key, `must be between ${min} and ${max}`);
  return v;
}

/** OpenAI content: a string or a list of parts whose text parts are joined. */
function contentText(content: unknown, path: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        if (isRecord(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
        throw invalid(`${path}[${i}]`, 'must be a text part ({"type": "text", "text": "..."})');
      })
      .join('');
  }
  throw invalid(path, 'must be a string or a list of text parts');
}

/**
 * Without `stream`, DB-GPT streams and OpenAI does not: a request carrying
 * any DB-GPT field gets DB-GPT's default. An explicit value always wins.
 */
const DBGPT_FIELDS = [
  'chat_mode',
  'chat_param',
  'conv_uid',
  'incremental',
  'enable_vis',
  'user_name',
  'sys_code',
  'max_new_tokens',
];

/** A client-chosen conversation id: what an HTTP header and a log line carry safely (DB-GPT sends UUIDs). */
const CONV_UID = /^[A-Za-z0-9._:-]{1,64}$/;

function optionalConvUid(body: Record<string, unknown>): string | undefined {
  const v = body.conv_uid;
  if (!present(v)) return undefined;
  if (typeof v !== 'string' || !CONV_UID.test(v)) {
    throw bad(
      'invalid_conv_uid',
      'conv_uid must be 1 to 64 characters of A-Z, a-z, 0-9, "-", "_", "." and ":" (a UUID fits).',
      'conv_uid',
    );
  }
  return v;
}

const ROLES = new Set(['system', 'user', 'assistant', 'developer']);

/** `messages` as a string, a list of strings (user turns) or OpenAI `{role, content}` objects. */
function parseMessages(value: unknown): ChatMessage[] {
  if (typeof value === 'string') return [{ role: 'user', content: value }];
  if (!Array.isArray(value))
    throw bad('invalid_messages', 'messages must be a string or a list of messages.', 'messages');
  if (value.length > 1000) throw bad('invalid_messages', 'messages may hold at most 1000 items.', 'messages');
  return value.map((m, i) => {
    if (typeof m === 'string') return { role: 'user' as const, content: m };
    if (!isRecord(m))
      throw bad('invalid_messages', `messages[${i}] must be a string or a {role, content} object.`, `messages[${i}]`);
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
      throw bad(
        'invalid_messages',
        `messages[${i}].role must be one of: system, user, assistant.`,
        `messages[${i}].role`,
      );
    }
    const role = m.role === 'developer' ? 'system' : (m.role as ChatMessage['role']);
    return { role, content: contentText(m.content, `messages[${i}].content`) };
  });
}

/**
 * Validates a chat request in the contract's order (README, Chat API): chat_param for a non-normal
 * mode, model, messages, mode (the app lookup follows in the service).
 * Unknown fields are ignored, as OpenAI clients send many.
 */
export function parseChatRequest(raw: unknown): ChatRequest {
  if (!isRecord(raw)) throw bad('invalid_messages', 'The body must be a JSON object.', 'messages');
  const body = raw;
  const chatModeRaw = present(body.chat_mode) ? body.chat_mode : 'chat_normal';
  if (typeof chatModeRaw === 'string' && UNSUPPORTED_CHAT_MODES.includes(chatModeRaw)) {
    throw bad('unsupported_chat_mode', `chat_mode ${JSON.stringify(chatModeRaw)} is not served here.`, 'chat_mode');
  }
  const chatParam = body.chat_param;
  if (chatModeRaw !== 'chat_normal' && (typeof chatParam !== 'string' || chatParam.trim() === '')) {
    throw bad(
      'invalid_chat_param',
      `chat_param is required for chat_mode ${JSON.stringify(chatModeRaw)} (for chat_app: the app_code; chat_data, chat_db_qa: the datasource name).`,
      'chat_param',
    );
  }
  if (typeof body.model !== 'string' || body.model.trim() === '') {
    throw bad('invalid_model', 'model is required: the name of a configured model (see GET /api/v2/models).', 'model');
  }
  if (!present(body.messages) || (Array.isArray(body.messages) && body.messages.length === 0) || body.messages === '') {
    throw bad('invalid_messages', 'messages is required and must not be empty.', 'messages');
  }
  if (typeof chatModeRaw !== 'string' || !(CHAT_MODES as readonly string[]).includes(chatModeRaw)) {
    throw bad(
      'invalid_chat_mode',
      `chat_mode must be one of: ${CHAT_MODES.join(', ')} (got ${JSON.stringify(chatModeRaw)}).`,
      'chat_mode',
    );
  }
  const convUid = optionalConvUid(body);
  const messages = parseMessages(body.messages);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  if (!lastUser || lastUser.content.trim() === '') {
    throw bad('invalid_messages', 'messages must contain a non-empty user message.', 'messages');
  }

  const stop = body.stop;
  if (
    present(stop) &&
    typeof stop !== 'string' &&
    !(Array.isArray(stop) && stop.length <= 4 && stop.every((s) => typeof s === 'string'))
  ) {
    throw invalid('stop', 'must be a string or a list of at most 4 strings');
  }
  const streamOptions = body.stream_options;
  if (present(streamOptions) && !isRecord(streamOptions)) throw invalid('stream_options', 'must be an object');
  const includeUsage =
    isRecord(streamOptions) && present(streamOptions.include_usage) ? streamOptions.include_usage : false;
  if (typeof includeUsage !== 'boolean') throw invalid('stream_options.include_usage', 'must be a boolean');

  const maxTokens =
    optionalNumber(body, 'max_tokens', 1, 1_000_000, true) ??
    optionalNumber(body, 'max_new_tokens', 1, 1_000_000, true);
  return {
    model: body.model,
    messages,
    input: lastUser.content,
    stream: optionalBoolean(
      body,
      'stream',
      DBGPT_FIELDS.some((k) => k in body),
    ),
    chatMode: chatModeRaw as ChatMode,
    chatParam: typeof chatParam === 'string' ? chatParam : undefined,
    convUid,
    userName: optionalString(body, 'user_name'),
    sysCode: optionalString(body, 'sys_code'),
    incremental: optionalBoolean(body, 'incremental', true),
    enableVis: optionalBoolean(body, 'enable_vis', true),
    includeUsage,
    background: optionalBoolean(body, 'background', false),
    temperature: optionalNumber(body, 'temperature', 0, 2),
    maxTokens,
    topP: optionalNumber(body, 'top_p', 0, 1),
    stop: typeof stop === 'string' ? [stop] : (stop as string[] | undefined),
    dbgptFamily: DBGPT_FIELDS.some((k) => k in body),
  };
}
