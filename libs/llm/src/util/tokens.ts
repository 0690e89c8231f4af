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
