import type { TokenCounter } from '@ensemble/llm';
import type { SchemaTable } from './drivers/driver';

/** A table ready for prompts: its text and the words it is found by, computed once per schema read. */
export interface IndexedTable {
  name: string;
  text: string;
  /** Tokens of `text`. */
  tokens: number;
  /** Words of the table's name and comment. */
  nameWords: Set<string>;
  /** Words of its columns' names and comments. */
  columnWords: Set<string>;
}

/** A datasource's schema as cached: the tables indexed for prompts. */
export interface SchemaIndex {
  tables: IndexedTable[];
  readAt: Date;
}

/** Tables are joined by a blank line: one token between two tables. */
const SEPARATOR_TOKENS = 1;

export function indexSchema(tables: SchemaTable[], countTokens: TokenCounter): SchemaIndex {
  return {
    readAt: new Date(),
    tables: tables.map((t) => {
      const text = describeTable(t);
      return {
        name: t.name,
        text,
        tokens: countTokens(text),
        nameWords: new Set([...words(t.name), ...words(t.comment)]),
        columnWords: new Set(t.columns.flatMap((c) => [...words(c.name), ...words(c.comment)])),
      };
    }),
  };
}

/** One table as prompt text: name, comment, one line per column with type, keys, comment and samples. */
export function describeTable(t: SchemaTable): string {
  const fkOf = new Map<string, string>();
  for (const fk of t.foreignKeys) {
    fk.columns.forEach((c, i) => fkOf.set(c, `${fk.table}(${fk.refColumns[i] ?? ''})`));
  }
  const lines = [`Table ${t.name}${t.comment ? ` -- ${t.comment}` : ''}`];
  for (const c of t.columns) {
    const parts = [`  ${c.name} ${c.type}`];
    if (!c.nullable) parts.push('NOT NULL');
    if (t.primaryKey.includes(c.name)) parts.push('PRIMARY KEY');
    const ref = fkOf.get(c.name);
    if (ref) parts.push(`REFERENCES ${ref}`);
    let line = parts.join(' ');
    if (c.comment) line += ` -- ${c.comment}`;
    if (c.samples.length) line += `${c.comment ? ';' : ' --'} e.g. ${c.samples.join(', ')}`;
    lines.push(line);
  }
  return lines.join('\n');
}

/**
 * The schema text for a question, within `budgetTokens`: every table when all
 * fit; otherwise the tables ranked by how well their name, comment and
 * columns match the question's words (ties in schema order), as many as fit.
 * Says how many tables were left out.
 */
export function schemaForQuestion(index: SchemaIndex, question: string, budgetTokens: number): string {
  const all = index.tables;
  const full = all.reduce((n, t) => n + t.tokens + SEPARATOR_TOKENS, 0);
  if (full <= budgetTokens) return all.map((t) => t.text).join('\n\n');
  const asked = words(question);
  const scored = all.map((t, i) => ({ t, i, score: score(t, asked) }));
  scored.sort((a, b) => b.score - a.score || a.i - b.i);
  const chosen: { t: IndexedTable; i: number }[] = [];
  let used = 0;
  for (const s of scored) {
    if (used + s.t.tokens + SEPARATOR_TOKENS > budgetTokens) continue;
    chosen.push(s);
    used += s.t.tokens + SEPARATOR_TOKENS;
  }
  chosen.sort((a, b) => a.i - b.i);
  const left = all.length - chosen.length;
  const text = chosen.map((c) => c.t.text).join('\n\n');
  return left ? `${text}\n\n(${left} more table${left === 1 ? '' : 's'} not shown)` : text;
}

/** Table names, for the Planner. */
export function tableNames(index: SchemaIndex, question: string, max: number): string[] {
  const asked = words(question);
  return index.tables
    .map((t, i) => ({ t, i, score: score(t, asked) }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, max)
    .map((s) => s.t.name);
}

function score(t: IndexedTable, asked: Set<string>): number {
  let s = 0;
  for (const w of asked) {
    if (t.nameWords.has(w)) s += 5;
    if (t.columnWords.has(w)) s += 1;
  }
  return s;
}

/** Lower-case words of a text, split on non-letters and snake/camel case, singular (a trailing `s` dropped). */
export function words(text: string): Set<string> {
  const out = new Set<string>();
  const spaced = text.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  for (const raw of spaced.split(/[^\p{L}\p{N}]+/u)) {
    if (raw.length < 2) continue;
    out.add(raw.length > 3 && raw.endsWith('s') ? raw.slice(0, -1) : raw);
  }
  return out;
}
