/**
 * Whitespace tokenisation used where no real tokenizer is available (the
 * offline provider's streaming pace and usage counts). Deterministic.
 */

/** Splits text into word tokens, each keeping its trailing whitespace; joining them gives the text back. */
export function splitWords(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** Number of whitespace-separated words. */
export function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Counts the tokens of a text. */
export type TokenCounter = (text: string) => number;

let counter: Promise<TokenCounter> | undefined;

/**
 * The token counter of prompt budgets: OpenAI's `cl100k_base` encoding
 * (exact for the GPT-4 family, a close estimate for other models' BPE
 * tokenizers, and far closer than characters for code and CJK text). Loaded
 * on first use, since its tables cost about 0.2 s and 40 MB that a server
 * which never budgets a prompt should not pay.
 */
export function tokenCounter(): Promise<TokenCounter> {
  counter ??= import('gpt-tokenizer/cjs/encoding/cl100k_base').then((m) => (text: string) => m.countTokens(text));
  return counter;
}
