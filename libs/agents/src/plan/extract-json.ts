/**
 * Finds the JSON value in a model's reply, tolerantly: the whole reply, the
 * body of a ``` fence, or a balanced `[...]`/`{...}` inside prose.
 */

import { isRecord } from '@ensemble/llm';

export type ExtractResult = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Candidates in order: the whole reply, fence bodies, balanced spans. The
 * first array of objects wins, else the first object, else the first value
 * that parses at all (validation then says what is wrong with it); when
 * nothing parses, the JSON error of the first bracketed candidate.
 */
export function extractJson(reply: string): ExtractResult {
  const candidates = [reply.trim(), ...fenceBodies(reply), ...balancedSpans(reply)].filter(Boolean);
  let best: { value: unknown; rank: number } | undefined;
  let firstError: string | undefined;
  for (const candidate of candidates) {
    try {
      const value: unknown = JSON.parse(candidate);
      const rank = planLikeness(value);
      if (rank === 2) return { ok: true, value };
      if (!best || rank > best.rank) best = { value, rank };
    } catch (error) {
      if (/^[[{]/.test(candidate)) firstError ??= (error as Error).message;
    }
  }
  if (best) return { ok: true, value: best.value };
  return {
    ok: false,
    reason: firstError ? `the plan is not valid JSON (${firstError})` : 'the reply contains no JSON plan',
  };
}

/** 2: a non-empty array of objects; 1: an object; 0: anything else. */
function planLikeness(value: unknown): number {
  if (Array.isArray(value)) return value.length > 0 && value.every(isRecord) ? 2 : 0;
  return isRecord(value) ? 1 : 0;
}

function fenceBodies(text: string): string[] {
  return [...text.matchAll(/```[^\n`]*\n([\s\S]*?)```/g)].map((match) => match[1].trim());
}

/** Every balanced bracket span, outermost first, skipping brackets inside JSON strings. */
function balancedSpans(text: string): string[] {
  const spans: string[] = [];
  for (let start = 0; start < text.length; start++) {
    if (text[start] !== '[' && text[start] !== '{') continue;
    const end = matchingEnd(text, start);
    if (end !== undefined) spans.push(text.slice(start, end + 1));
  }
  return spans;
}

function matchingEnd(text: string, start: number): number | undefined {
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '[' || char === '{') {
      stack.push(char === '[' ? ']' : '}');
    } else if (char === ']' || char === '}') {
      if (stack.pop() !== char) return undefined;
      if (stack.length === 0) return i;
    }
  }
  return undefined;
}
