import type { WireFinishReason } from './chunks';

/** Chat modes DB-GPT knows but this server does not serve: refused with 400 `unsupported_chat_mode`. */
export const UNSUPPORTED_CHAT_MODES: readonly string[] = ['chat_dashboard', 'chat_flow'];

/**
 * The finish reason a client is sent. DB-GPT's client validates it as
 * `stop` | `length`, so a request of that family gets only those two
 * (`content_filter`, `error` → `stop`); OpenAI callers get the model's own.
 */
export function clientFinishReason(reason: WireFinishReason, dbgptFamily: boolean): WireFinishReason {
  if (!dbgptFamily || reason === 'stop' || reason === 'length') return reason;
  return 'stop';
}

/** How a plain-text answer that broke off says so, as the last words of its content. */
export const failureNote = (message: string, after: string): string =>
  `${after ? '\n\n' : ''}The answer could not be completed: ${message}`;
