import type { ChatMessage, LlmError, LlmStrategy, Usage } from '@ensemble/llm';
import type { ActionResult } from '../roles/role';
import { untilAborted } from './abortable';
import type { RunContext } from './run-context';
import { RunCancelled } from './run-errors';

/** One message of the run: who speaks to whom, about which step, with what prompt and model strategy. */
export interface Exchange {
  /** The plan step (0 outside any step: the Planner, the final summary). */
  num: number;
  sender: string;
  receiver: string;
  messages: ChatMessage[];
  strategy: LlmStrategy;
  /** What the message draws on, carried by its events (e.g. knowledge references). */
  resource?: unknown;
}

/**
 * The outcome of one call. A failure carries the model's `reply` when the
 * role's action rejected it: only such a failure is worth another attempt
 * (the reply and the reason are fed back). An LLM failure has no `reply`:
 * the LLM port has already retried what a retry could fix.
 */
export type ExchangeResult<T> = Extract<ActionResult<T>, { ok: true }> | { ok: false; reason: string; reply?: string };

/** The model named when a stream sends text before its `start` part (a port bug, tolerated). */
const UNKNOWN_MODEL = 'unknown';

/**
 * Makes one LLM call and emits it as a message: `message-started` when the
 * port names the model, a `token` per text delta, `message-done` when the
 * stream ends, its success being the role action's verdict on the reply. An
 * error before `start` emits no message. On abort the open message is
 * closed unsuccessfully and `RunCancelled` is thrown.
 */
export async function converse<T>(
  run: RunContext,
  exchange: Exchange,
  act: (reply: string) => ActionResult<T> | Promise<ActionResult<T>>,
): Promise<ExchangeResult<T>> {
  run.throwIfCancelled();
  const { num, sender, receiver } = exchange;
  let message: { model: string; round: number } | undefined;
  let text = '';
  const resource = exchange.resource === undefined ? {} : { resource: exchange.resource };
  const start = (model: string) => {
    message = { model, round: run.nextRound() };
    run.emit({ type: 'message-started', num, sender, receiver, ...message, ...resource });
  };
  const done = (success: boolean, usage?: Usage) => {
    if (!message) return;
    const outcome = { content: text, success, ...(usage && { usage }) };
    run.emit({ type: 'message-done', num, sender, receiver, ...message, ...outcome, ...resource });
  };

  const parts = run.llm.stream(run.request(exchange.messages, exchange.strategy));
  for await (const part of untilAborted(parts, run.signal)) {
    switch (part.type) {
      case 'start':
        if (!message) start(part.model);
        break;
      case 'text-delta':
        if (!message) start(UNKNOWN_MODEL);
        if (!part.text) break;
        text += part.text;
        run.emit({ type: 'token', num, agent: sender, text: part.text });
        break;
      case 'finish': {
        run.addUsage(part.usage);
        const verdict = await act(text);
        done(verdict.ok, part.usage);
        return verdict.ok ? verdict : { ok: false, reason: verdict.reason, reply: text };
      }
      case 'error':
        done(false);
        if (run.signal.aborted) throw new RunCancelled();
        return { ok: false, reason: describeLlmError(part.error) };
    }
  }
  done(false);
  if (run.signal.aborted) throw new RunCancelled();
  return { ok: false, reason: 'the model stream ended before it finished' };
}

/**
 * The failure in our words (shown to users in the run's view): the kind and
 * the HTTP status only. The upstream's own text (hosts, paths, HTML pages)
 * is for the log, which the server's LLM port writes.
 */
function describeLlmError(error: LlmError): string {
  const model = error.model ? ` to ${JSON.stringify(error.model)}` : '';
  return `the LLM call${model} failed (${error.code}${error.status ? `, HTTP ${error.status}` : ''})`;
}
