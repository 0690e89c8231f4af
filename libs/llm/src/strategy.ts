/**
 * The strategy (libs/llm/README.md, "Strategy") as pure rules: which models a
 * request may use, in which order, and what to do when one fails before
 * answering.
 */
import { LlmError } from './errors';
import type { LanguageModel, LlmRequest } from './port';
import type { ModelRegistry } from './registry';

export interface StrategyOptions {
  /** Extra attempts on the same model after a retryable error (rate limit, timeout, 5xx, connection). Default 1. */
  retries: number;
  /** Backoff before retry n (0-based) is `baseDelayMs * 2^n`. Default 200. */
  baseDelayMs: number;
  /**
   * Cap of the backoff. A `retry-after` longer than this is not waited for:
   * the strategy moves on to the next model instead. Default 5000.
   */
  maxDelayMs: number;
}

export const DEFAULT_STRATEGY_OPTIONS: StrategyOptions = { retries: 1, baseDelayMs: 200, maxDelayMs: 5000 };

/**
 * The models to try, in order. An explicit `model` wins; `priority` keeps the
 * listed names that are configured (exact match), in list order; `default`
 * (or an empty priority list) is the registry default.
 */
export function resolveCandidates(
  registry: ModelRegistry,
  request: Pick<LlmRequest, 'model' | 'strategy'>,
): LanguageModel[] {
  if (request.model) return [registry.get(request.model)];
  const strategy = request.strategy ?? { type: 'default' };
  const listed = strategy.type === 'priority' ? strategy.models.map((m) => m.trim()).filter(Boolean) : [];
  if (listed.length === 0) return [registry.defaultModel];
  const configured = [...new Set(listed)].filter((name) => registry.has(name));
  if (configured.length === 0) {
    throw new LlmError(
      'no_model_available',
      `none of the models of the priority list is configured: ${listed.join(', ')}`,
    );
  }
  return configured.map((name) => registry.get(name));
}

export type FailureAction =
  /** Call the same model again after `delayMs`. */
  | { action: 'retry'; delayMs: number }
  /** Give up on this model; try the next one, if any. */
  | { action: 'next' }
  /** Give up on the request: another model would fail the same way. */
  | { action: 'stop' };

/**
 * What to do after `error`, raised before the model emitted any text, on
 * attempt `attempt` (0-based) of one model.
 *
 * - `aborted`, `bad_request`, `context_length`: stop; the request itself is the problem.
 * - `auth`, `malformed_stream`: next model; this provider is unusable, retrying it is pointless.
 * - `rate_limit`, `timeout`, `upstream`, `connection`: retry with backoff while
 *   retries are left (honouring `retryAfterMs` up to `maxDelayMs`), then next model.
 */
export function onFailure(error: LlmError, attempt: number, options: StrategyOptions): FailureAction {
  if (error.retryable) {
    const delayMs = retryDelay(error, attempt, options);
    return attempt < options.retries && delayMs !== undefined ? { action: 'retry', delayMs } : { action: 'next' };
  }
  return error.code === 'auth' || error.code === 'malformed_stream' ? { action: 'next' } : { action: 'stop' };
}

function retryDelay(error: LlmError, attempt: number, options: StrategyOptions): number | undefined {
  if (error.retryAfterMs !== undefined)
    return error.retryAfterMs <= options.maxDelayMs ? error.retryAfterMs : undefined;
  return Math.min(options.baseDelayMs * 2 ** attempt, options.maxDelayMs);
}
