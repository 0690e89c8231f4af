import { type ChatMessage, isRecord } from '@ensemble/llm';

/** Roles a message may carry; OpenAI's `developer` is a system message. */
export const MESSAGE_ROLES = ['system', 'user', 'assistant', 'developer'] as const;
const ROLES: ReadonlySet<string> = new Set(MESSAGE_ROLES);

/** Most items `messages` may hold. */
export const MAX_MESSAGES = 1000;

/** What is wrong with a `messages` value: the first item at fault, named in the sentence. */
export interface MessagesProblem {
  code: 'invalid_messages' | 'validation_error';
  message: string;
}

const TEXT_PART = 'must be a text part ({"type": "text", "text": "..."})';

/** OpenAI content: a string or a list of `{"type": "text", "text"}` parts; the problem of the first bad one. */
function contentProblem(content: unknown, path: string): string | undefined {
  if (typeof content === 'string') return undefined;
  if (!Array.isArray(content)) return `${path} must be a string or a list of text parts`;
  for (let j = 0; j < content.length; j++) {
    const part: unknown = content[j];
    if (!isRecord(part) || part.type !== 'text' || typeof part.text !== 'string') return `${path}[${j}] ${TEXT_PART}`;
  }
  return undefined;
}

/**
 * `messages` as a string, a list of strings (user turns) or OpenAI `{role, content}` objects.
 * A shape or role at fault is `invalid_messages`, content at fault a `validation_error`.
 * An absent or empty value is the `messages` check's, not this one's.
 */
export function messagesProblem(value: unknown): MessagesProblem | undefined {
  if (typeof value === 'string') return undefined;
  if (!Array.isArray(value)) {
    return { code: 'invalid_messages', message: 'messages must be a string or a list of messages.' };
  }
  if (value.length > MAX_MESSAGES) {
    return { code: 'invalid_messages', message: `messages may hold at most ${MAX_MESSAGES} items.` };
  }
  for (let i = 0; i < value.length; i++) {
    const m: unknown = value[i];
    if (typeof m === 'string') continue;
    if (!isRecord(m)) {
      return { code: 'invalid_messages', message: `messages[${i}] must be a string or a {role, content} object.` };
    }
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
      return { code: 'invalid_messages', message: `messages[${i}].role must be one of: system, user, assistant.` };
    }
    const content = contentProblem(m.content, `messages[${i}].content`);
    if (content !== undefined) return { code: 'validation_error', message: content };
  }
  return undefined;
}

/** The text of a valid message's content (text parts joined). */
function contentText(content: string | { text: string }[]): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) text += part.text;
  return text;
}

type ValidMessage = string | { role: string; content: string | { text: string }[] };

/** The text of the last user message of valid `messages`; undefined when there is none. */
export function lastUserText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return undefined;
  for (let i = value.length - 1; i >= 0; i--) {
    const m = value[i] as ValidMessage;
    if (typeof m === 'string') return m;
    if (m.role === 'user') return contentText(m.content);
  }
  return undefined;
}

/** Valid `messages` as the model's messages: strings are user turns, `developer` is `system`. */
export function toChatMessages(value: string | ValidMessage[]): ChatMessage[] {
  if (typeof value === 'string') return [{ role: 'user', content: value }];
  return value.map((m) =>
    typeof m === 'string'
      ? { role: 'user', content: m }
      : {
          role: m.role === 'developer' ? 'system' : (m.role as ChatMessage['role']),
          content: contentText(m.content),
        },
  );
}
