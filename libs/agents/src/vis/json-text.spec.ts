import { NASTY_PIECES, nastyText, randomSplit, seededRandom } from '../testing/random';
import { escapeJsonText, holdTrailingHighSurrogate, nest } from './json-text';

describe('JSON text escaping', () => {
  it('escapes like JSON.stringify and keeps unicode as is', () => {
    expect(escapeJsonText('a"b\\c\nd\u0001é😀')).toBe('a\\"b\\\\c\\nd\\u0001é😀');
    expect(nest('"', 2)).toBe('\\\\\\"');
  });

  it('composes over concatenation at any depth for well-formed pieces', () => {
    const random = seededRandom(7);
    for (let run = 0; run < 200; run++) {
      const text = nastyText(random, 12);
      const pieces = wellFormedSplit(randomSplit(random, text));
      expect(pieces.join('')).toBe(text);
      for (const depth of [1, 2]) {
        const whole = nest(text, depth);
        expect(pieces.map((piece) => nest(piece, depth)).join('')).toBe(whole);
        let parsed = whole;
        for (let level = 0; level < depth; level++) parsed = JSON.parse(`"${parsed}"`);
        expect(parsed).toBe(text);
      }
    }
  });

  it('holds back a trailing high surrogate only', () => {
    expect(holdTrailingHighSurrogate('a\ud83d')).toEqual(['a', '\ud83d']);
    expect(holdTrailingHighSurrogate('a😀')).toEqual(['a😀', '']);
    expect(holdTrailingHighSurrogate('')).toEqual(['', '']);
  });

  it('random splits may cut surrogate pairs', () => {
    const tokens = randomSplit(seededRandom(1), NASTY_PIECES.join('').repeat(3));
    expect(tokens.join('')).toBe(NASTY_PIECES.join('').repeat(3));
    expect(tokens.some((t) => /[\ud800-\udbff]$/.test(t))).toBe(true);
  });
});

/** Moves a high surrogate that ends a token to the start of the next one, as the renderer does. */
function wellFormedSplit(tokens: string[]): string[] {
  const out: string[] = [];
  let held = '';
  for (const token of tokens) {
    const [ready, next] = holdTrailingHighSurrogate(held + token);
    if (ready) out.push(ready);
    held = next;
  }
  return held ? [...out, held] : out;
}
