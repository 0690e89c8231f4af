/** Seeded randomness for property-style tests: reproducible runs from a number. */

/** A PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces that stress JSON escaping and fences: quotes, backslashes, control characters, non-ASCII, emoji. */
export const NASTY_PIECES = [
  ...['"', '\\', '\n', '\r', '\t', '\u0000', '\u001f', '\u2028', '\\u0041', '\\"'],
  ...['é', '中文', '😀', '👍🏽', '```', '```agent-messages\n[', ']\n```'],
  ...['{', '}', '[', ']', ',', ':', ' ', 'word', 'null'],
];

/** Random text made of `count` nasty pieces. */
export function nastyText(random: () => number, count: number): string {
  return Array.from({ length: count }, () => NASTY_PIECES[Math.floor(random() * NASTY_PIECES.length)]).join('');
}

/** Splits text at random UTF-16 positions (so surrogate pairs may be cut) into non-empty tokens. */
export function randomSplit(random: () => number, text: string): string[] {
  const tokens: string[] = [];
  let start = 0;
  while (start < text.length) {
    const size = 1 + Math.floor(random() * 6);
    tokens.push(text.slice(start, start + size));
    start += size;
  }
  return tokens;
}
