/**
 * The offline provider: no network, deterministic answers. It gives a
 * newcomer's first run an answer without any model configured, and tests a
 * model they can script (a Planner returning a JSON plan, a step failing, …).
 */
import { LlmError, toLlmError } from '../errors';
import type { ChatMessage, FinishReason, GenerateResult, LanguageModel, LlmCallOptions, StreamPart } from '../port';
import { collectStream } from '../util/collect';
import { sleep } from '../util/sleep';
import { countWords, splitWords } from '../util/tokens';

/** Registry name of the built-in offline model. */
export const OFFLINE_MODEL_NAME = 'ensemble-offline';

/** Default pace of the offline model, in ms per word. */
export const DEFAULT_OFFLINE_TOKEN_DELAY_MS = 15;

/**
 * What a scripted call answers: a text; an error (emitted before any text);
 * or a text followed by an error (a failure mid-stream).
 */
export type ScriptedReply = string | LlmError | { text: string; error?: LlmError };

/** A list of replies used in call order, or a function of the call and its 0-based index. */
export type Script =
  | readonly ScriptedReply[]
  | ((options: LlmCallOptions, callIndex: number) => ScriptedReply | Promise<ScriptedReply>);

export interface OfflineModelOptions {
  /** Pause before each word, in ms. */
  tokenDelayMs?: number;
}

/**
 * A model that answers locally, word by word. Reports usage as whitespace
 * word counts, honours `maxTokens` (finish reason `length`), `stop`, and the
 * abort signal. Every call's options are recorded in `calls`.
 */
export class OfflineModel implements LanguageModel {
  readonly provider = 'offline';
  /** Options of every call, in order (like Vercel's MockLanguageModel). */
  readonly calls: LlmCallOptions[] = [];
  private readonly tokenDelayMs: number;

  constructor(
    readonly name: string,
    private readonly reply: (options: LlmCallOptions, callIndex: number) => Promise<ScriptedReply>,
    options: OfflineModelOptions = {},
  ) {
    this.tokenDelayMs = options.tokenDelayMs ?? DEFAULT_OFFLINE_TOKEN_DELAY_MS;
  }

  stream(options: LlmCallOptions): AsyncIterable<StreamPart> {
    return this.run(options);
  }

  generate(options: LlmCallOptions): Promise<GenerateResult> {
    return collectStream(this.run(options), this.name);
  }

  private async *run(options: LlmCallOptions): AsyncGenerator<StreamPart> {
    const callIndex = this.calls.push(options) - 1;
    yield { type: 'start', model: this.name };
    const { signal } = options;
    const aborted = () =>
      new LlmError('aborted', `model "${this.name}": the request was aborted`, { model: this.name });
    let reply: ScriptedReply;
    try {
      reply = await this.reply(options, callIndex);
    } catch (err) {
      reply = toLlmError(err, { model: this.name });
    }
    if (signal?.aborted) {
      yield { type: 'error', error: aborted() };
      return;
    }
    if (reply instanceof LlmError) {
      yield { type: 'error', error: reply };
      return;
    }
    const { text, error } = typeof reply === 'string' ? { text: reply, error: undefined } : reply;
    const { words, finishReason } = limit(text, options);
    for (const word of words) {
      await sleep(this.tokenDelayMs, signal);
      if (signal?.aborted) {
        yield { type: 'error', error: aborted() };
        return;
      }
      yield { type: 'text-delta', text: word };
    }
    if (error) {
      yield { type: 'error', error };
      return;
    }
    const inputTokens = options.messages.reduce((sum, m) => sum + countWords(m.content), 0);
    const outputTokens = countWords(words.join(''));
    yield {
      type: 'finish',
      finishReason,
      usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
    };
  }
}

/** Cuts the reply at the first stop sequence and at `maxTokens` words. */
function limit(text: string, options: LlmCallOptions): { words: string[]; finishReason: FinishReason } {
  const stopAt = Math.min(...(options.stop ?? []).map((s) => text.indexOf(s)).filter((i) => i >= 0), text.length);
  const words = splitWords(text.slice(0, stopAt));
  const max = options.maxTokens;
  if (max !== undefined && countWords(words.join('')) > max) {
    return { words: words.filter((w) => w.trim()).slice(0, max), finishReason: 'length' };
  }
  return { words, finishReason: 'stop' };
}

/**
 * The built-in offline model: answers with a clearly labelled echo of the
 * last user message, so a first run shows the whole pipeline without a key.
 */
export function createOfflineModel(name = OFFLINE_MODEL_NAME, options: OfflineModelOptions = {}): OfflineModel {
  return new OfflineModel(name, async ({ messages }) => offlineReply(name, messages), options);
}

/** The offline model's deterministic answer to `messages`. */
export function offlineReply(name: string, messages: readonly ChatMessage[]): string {
  const lastUser =
    [...messages]
      .reverse()
      .find((m) => m.role === 'user')
      ?.content.trim() ?? '';
  const quoted = lastUser.length > 200 ? `${lastUser.slice(0, 200)}…` : lastUser;
  return `[${name}] This is the offline model, a local echo that calls no language model. You said: "${quoted}"`;
}

/**
 * A model that answers from a script. With a list, call N gets reply N; a
 * call past the end fails with `bad_request` (a broken test setup, never
 * retried). Scripted models stream without pause unless `tokenDelayMs` is set.
 */
export function createScriptedModel(name: string, script: Script, options: OfflineModelOptions = {}): OfflineModel {
  const reply =
    typeof script === 'function'
      ? async (callOptions: LlmCallOptions, index: number) => script(callOptions, index)
      : async (_: LlmCallOptions, index: number) =>
          index < script.length
            ? script[index]
            : new LlmError(
                'bad_request',
                `scripted model "${name}" has no reply for call #${index + 1} (script has ${script.length})`,
                { model: name },
              );
  return new OfflineModel(name, reply, { tokenDelayMs: 0, ...options });
}
