import type { ChatMessage } from '@ensemble/llm';
import type { ActionResult } from '../roles/role';
import { converse, type Exchange } from './converse';
import type { RunContext } from './run-context';

/** A message to send until the reply is accepted or the retries are spent. */
export interface AttemptsSpec<T> extends Exchange {
  act: (reply: string) => ActionResult<T> | Promise<ActionResult<T>>;
  maxRetries: number;
  /** What to tell the model about a rejected reply before it tries again. */
  feedback: (reason: string) => string;
  /** Before each attempt's call (1-based). */
  onAttempt?: (attempt: number) => void;
  /** After each failed attempt; `retry` is the number of retries made before it. */
  onFailure?: (reason: string, retry: number, willRetry: boolean) => void;
}

export type AttemptsResult<T> =
  | Extract<ActionResult<T>, { ok: true }>
  | { ok: false; reason: string; attempts: number };

/**
 * Runs the exchange, retrying a rejected reply up to `maxRetries` times: the
 * reply the action rejected is fed back (as an assistant turn, then the
 * feedback) so the model can fix it. An LLM failure ends the attempts at
 * once: retrying the transport is the LLM port's job, with its own backoff.
 * Every attempt takes one call from the run's budget.
 */
export async function runAttempts<T>(run: RunContext, spec: AttemptsSpec<T>): Promise<AttemptsResult<T>> {
  let messages: ChatMessage[] = spec.messages;
  for (let attempt = 1; ; attempt++) {
    run.reserveCall();
    spec.onAttempt?.(attempt);
    const result = await converse(run, { ...spec, messages }, spec.act);
    if (result.ok) return result;
    const { reason, reply } = result;
    const willRetry = reply !== undefined && attempt <= spec.maxRetries;
    spec.onFailure?.(reason, attempt - 1, willRetry);
    if (!willRetry) return { ok: false, reason, attempts: attempt };
    const rejected: ChatMessage[] = reply.trim() ? [{ role: 'assistant', content: reply }] : [];
    messages = [...messages, ...rejected, { role: 'user', content: spec.feedback(reason) }];
  }
}
