/**
 * The LLM port as agents and the chat module see it: resolves the model by
 * name or strategy, retries and falls back (libs/llm/README.md, "Strategy"),
 * and passes the answering model's parts on.
 */
import { Logger, type LoggerService } from '@nestjs/common';
import { LlmError, toLlmError } from './errors';
import type {
  EmbeddingPort,
  EmbedOptions,
  EmbedResult,
  GenerateResult,
  LanguageModel,
  LlmCallOptions,
  LlmPort,
  LlmRequest,
  StreamPart,
} from './port';
import type { ModelRegistry } from './registry';
import { DEFAULT_STRATEGY_OPTIONS, onFailure, resolveCandidates, type StrategyOptions } from './strategy';
import { batchedStream, partBatches, type PartBatch } from './util/batches';
import { collectStream } from './util/collect';
import { sleep } from './util/sleep';

export interface LlmServiceOptions extends Partial<StrategyOptions> {
  /** Where retries and fallbacks are reported. Default: a Nest `Logger` named `LlmService`. */
  logger?: Pick<LoggerService, 'warn'>;
}

/** How one attempt on one model ended. */
type AttemptOutcome = { answered: true } | { answered: false; error: LlmError };

export class LlmService implements LlmPort, EmbeddingPort {
  private readonly strategy: StrategyOptions;
  private readonly logger: Pick<LoggerService, 'warn'>;

  constructor(
    private readonly registry: ModelRegistry,
    options: LlmServiceOptions = {},
  ) {
    const { logger, ...strategy } = options;
    this.strategy = { ...DEFAULT_STRATEGY_OPTIONS, ...withoutUndefined(strategy) };
    this.logger = logger ?? new Logger(LlmService.name);
  }

  /**
   * Streams the answer of the first model that answers. The stream is one
   * `start` naming that model, its text, and its `finish` (or its `error` if
   * it fails after answering). When no model answers, the stream is a single
   * `error` part: the last model's error, listing every failure. Batched
   * as the answering model's stream was (see `partBatches`).
   */
  stream(request: LlmRequest): AsyncIterable<StreamPart> {
    return batchedStream(this.run(request));
  }

  /** `stream()` collected; throws the `LlmError` the stream ends with. */
  generate(request: LlmRequest): Promise<GenerateResult> {
    return collectStream(this.stream(request), request.model ?? this.registry.defaultModelName);
  }

  get embeddingModel(): string | undefined {
    return this.registry.embeddingModel?.name;
  }

  get embeddingBatchSize(): number {
    return this.registry.embeddingModel?.batchSize ?? 1;
  }

  /**
   * Embeds the texts with the configured embedding model (one request;
   * callers batch by `embeddingBatchSize`). A retryable failure is retried
   * as a chat model's is (same rules and backoff); there is no fallback
   * model, as vectors of another model are not comparable.
   */
  async embed(options: EmbedOptions): Promise<EmbedResult> {
    const model = this.registry.embeddingModel;
    if (!model) throw new LlmError('unknown_model', 'no embedding model is configured in the models file');
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw new LlmError('aborted', 'the request was aborted', { model: model.name });
      try {
        return await model.embed(options);
      } catch (err) {
        const error = toLlmError(err, { model: model.name });
        const decision = onFailure(error, attempt, this.strategy);
        if (decision.action !== 'retry') throw error;
        this.logger.warn(`${error.message}; retrying in ${decision.delayMs} ms`);
        await sleep(decision.delayMs, options.signal);
      }
    }
  }

  private async *run(request: LlmRequest): AsyncGenerator<PartBatch> {
    const { model: _model, strategy: _strategy, ...options } = request;
    let candidates: LanguageModel[];
    try {
      candidates = resolveCandidates(this.registry, request);
    } catch (err) {
      yield [{ type: 'error', error: toLlmError(err) }];
      return;
    }

    const failures: LlmError[] = [];
    for (const [index, model] of candidates.entries()) {
      for (let attempt = 0; ; attempt++) {
        if (options.signal?.aborted) {
          yield [{ type: 'error', error: new LlmError('aborted', 'the request was aborted', { model: model.name }) }];
          return;
        }
        const outcome = yield* this.attempt(model, options);
        if (outcome.answered) return;
        failures.push(outcome.error);
        const next = candidates[index + 1];
        const decision = onFailure(outcome.error, attempt, this.strategy);
        if (decision.action === 'retry') {
          this.logger.warn(`${outcome.error.message}; retrying in ${decision.delayMs} ms`);
          await sleep(decision.delayMs, options.signal);
          continue;
        }
        if (decision.action === 'next' && next) {
          this.logger.warn(`${outcome.error.message}; falling back to model "${next.name}"`);
          break;
        }
        yield [{ type: 'error', error: outcome.error.code === 'aborted' ? outcome.error : summarize(failures) }];
        return;
      }
    }
  }

  /**
   * Runs one call. Parts are held back until the model answers (first text
   * or finish); from then on everything is passed on, errors included, so a
   * failure after text is never retried elsewhere.
   */
  private async *attempt(model: LanguageModel, options: LlmCallOptions): AsyncGenerator<PartBatch, AttemptOutcome> {
    let answered = false;
    try {
      for await (const batch of partBatches(model.stream(options))) {
        // Once answered, a batch passes on as it came (no copy on the token path).
        if (answered && !batch.some((part) => part.type === 'start')) {
          yield batch;
          continue;
        }
        const out: StreamPart[] = [];
        for (const part of batch) {
          if (part.type === 'start') continue;
          if (!answered) {
            if (part.type === 'error') return { answered: false, error: part.error };
            answered = true;
            out.push({ type: 'start', model: model.name });
          }
          out.push(part);
        }
        if (out.length) yield out;
      }
    } catch (err) {
      // A model that breaks the port's contract by throwing.
      const error = toLlmError(err, { model: model.name });
      if (!answered) return { answered: false, error };
      yield [{ type: 'error', error }];
    }
    if (answered) return { answered: true };
    return {
      answered: false,
      error: new LlmError('malformed_stream', `model "${model.name}": the stream ended without an answer`, {
        model: model.name,
      }),
    };
  }
}

/** The last failure, its message listing every failure when there were several. */
function summarize(failures: LlmError[]): LlmError {
  const last = failures[failures.length - 1];
  if (failures.length === 1) return last;
  const message = `no model answered: ${failures.map((f) => f.message).join('; ')}`;
  return new LlmError(last.code, message, { status: last.status, model: last.model, retryAfterMs: last.retryAfterMs });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
