/**
 * JSON string escaping that composes over concatenation, so streamed text
 * can be escaped piece by piece the moment it arrives: for well-formed text,
 * `escape(a + b) === escape(a) + escape(b)`. Text nested in `depth` JSON
 * strings (a message inside a plan item's markdown) is escaped once per
 * level. Non-ASCII is written as is; only `"`, `\` and control characters
 * (and lone surrogates) are escaped, exactly as `JSON.stringify` does.
 */

/** `text` as it appears between the quotes of a JSON string. */
export function escapeJsonText(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** `text` escaped once per enclosing JSON string. */
export function nest(text: string, depth: number): string {
  let out = text;
  for (let level = 0; level < depth; level++) out = escapeJsonText(out);
  return out;
}

/**
 * Splits off a trailing high surrogate, which must wait for its low half
 * (the next token) so that an emoji split across tokens is written as is
 * rather than as two `\uXXXX` escapes.
 */
export function holdTrailingHighSurrogate(text: string): [ready: string, held: string] {
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? [text.slice(0, -1), text.slice(-1)] : [text, ''];
}
