import { extractJson } from '../plan/extract-json';
import { type DataPort, databaseName, type DataRows, type DbChart, DB_CHART_TYPES, type DbChartType } from '../ports';
import type { ActionResult, AgentRole, RoleContext } from './role';

/** Rows of a result put into the text later steps read (the chart carries up to the row cap). */
export const PROMPT_ROWS = 20;

/**
 * DB-GPT's data scientist ("Edgar"): writes one read-only SQL query over the
 * datasource named by its `database` resource, answering
 * `{"display_type", "sql", "thought"}`; Ensemble runs the query read-only
 * and the result becomes a `vis-db-chart`. A refusal or a database error
 * is fed back to the model (the step's bounded retries); an empty result is
 * a result, not a failure.
 */
export const dataScientist: AgentRole = {
  name: 'DataScientist',
  description:
    'Answers questions about data in a database: writes one read-only SQL query over the datasource schema, runs it and shows the result as a chart or table.',
  systemPrompt: [
    'You are the DataScientist, an expert in SQL and data analysis. Your goal is to answer the task with one SQL query',
    'over the datasource described below, and to choose how its result is best shown.',
    '',
    'Constraints:',
    '- Write exactly one read-only statement (SELECT or WITH … SELECT) in the dialect given; never change data.',
    '- Use only the tables and columns of the schema below; qualify ambiguous columns.',
    '- Return only what the question needs; aggregate in SQL rather than returning raw rows.',
    `- display_type is one of: ${DB_CHART_TYPES.join(', ')} (response_table when no chart fits).`,
    '- Reply with a JSON object only, no prose around it:',
    '  {"display_type": "response_bar_chart", "sql": "SELECT ...", "thought": "why this query and chart answer the task"}',
  ].join('\n'),
  act: () => ({ ok: false, reason: 'the DataScientist needs the data port to run its SQL' }),
  prepare,
  actWith: perform,
};

interface SqlReply {
  sql: string;
  type: DbChartType;
  thought: string;
  title: string;
  database?: string;
}

/** The names of the datasources a detail's `database` resources name, in order. */
export function datasourceNames(ctx: Pick<RoleContext, 'resources'>): string[] {
  const names: string[] = [];
  for (const r of ctx.resources) {
    if (r.type !== 'database') continue;
    const name = databaseName(r.value) ?? (r.name.trim() || undefined);
    if (name && !names.includes(name)) names.push(name);
  }
  return names;
}

function portAndNames(ctx: RoleContext): { ok: true; port: DataPort; names: string[] } | { ok: false; reason: string } {
  const names = datasourceNames(ctx);
  if (!names.length) {
    return { ok: false, reason: 'the DataScientist has no "database" resource naming a datasource' };
  }
  const port = ctx.ports.data;
  if (!port) return { ok: false, reason: 'this run has no access to datasources (no data port)' };
  return { ok: true, port, names };
}

async function prepare(ctx: RoleContext): Promise<ActionResult> {
  const found = portAndNames(ctx);
  if (!found.ok) return found;
  const sections: string[] = [];
  for (const name of found.names) {
    const schema = await found.port.schema(name, ctx.task);
    if (!schema.ok) return { ok: false, reason: `datasource "${name}": ${schema.reason}` };
    sections.push(`Datasource "${name}" (${schema.value.dialect} SQL dialect):\n${schema.value.text}`);
  }
  if (found.names.length > 1) {
    sections.push(`Add "database": "<datasource name>" to the JSON to choose one; default "${found.names[0]}".`);
  }
  return { ok: true, value: sections.join('\n\n') };
}

async function perform(reply: string, ctx: RoleContext): Promise<ActionResult> {
  const found = portAndNames(ctx);
  if (!found.ok) return found;
  const parsed = parseSqlReply(reply);
  if (!parsed.ok) return parsed;
  const { sql, type, thought, title } = parsed.value;
  const name = parsed.value.database ?? found.names[0];
  if (!found.names.includes(name)) {
    return { ok: false, reason: `"${name}" is not one of the datasources: ${found.names.join(', ')}` };
  }
  const result = await found.port.query(name, sql, ctx.signal);
  if (!result.ok) return { ok: false, reason: `the SQL was not run or failed: ${result.reason}` };
  const chart: DbChart = { sql, type, title, describe: thought, data: result.value.rows };
  return { ok: true, value: describeResult(sql, result.value), chart };
}

/** The reply's `{display_type, sql, thought}`, found tolerantly (a fence, prose around it). */
export function parseSqlReply(reply: string): { ok: true; value: SqlReply } | { ok: false; reason: string } {
  const found = extractJson(reply);
  if (!found.ok) return { ok: false, reason: 'the reply has no JSON object {"display_type", "sql", "thought"}' };
  const value = Array.isArray(found.value) ? (found.value as unknown[])[0] : found.value;
  if (typeof value !== 'object' || value === null) {
    return { ok: false, reason: 'the reply is not a JSON object {"display_type", "sql", "thought"}' };
  }
  const o = value as Record<string, unknown>;
  const sql = typeof o.sql === 'string' ? o.sql.trim() : '';
  if (!sql) return { ok: false, reason: 'the JSON has no "sql" string' };
  const display = typeof o.display_type === 'string' ? o.display_type.trim() : '';
  const type = (DB_CHART_TYPES as readonly string[]).includes(display) ? (display as DbChartType) : 'response_table';
  return {
    ok: true,
    value: {
      sql,
      type,
      thought: typeof o.thought === 'string' ? o.thought : typeof o.thoughts === 'string' ? o.thoughts : '',
      title: typeof o.title === 'string' ? o.title : '',
      ...(typeof o.database === 'string' && o.database.trim() && { database: o.database.trim() }),
    },
  };
}

/** The result as later steps read it: the SQL, the row count, the first rows as JSON lines. */
export function describeResult(sql: string, rows: DataRows): string {
  if (rows.rows.length === 0) return `SQL: ${sql}\nThe query returned no rows.`;
  const total = rows.total ?? `more than ${rows.rows.length}`;
  const shown = rows.rows.slice(0, PROMPT_ROWS);
  const head =
    shown.length < (rows.total ?? Infinity)
      ? `Result: ${total} rows (the first ${shown.length} below).`
      : `Result: ${total} row${rows.total === 1 ? '' : 's'}.`;
  return [`SQL: ${sql}`, head, ...shown.map((r) => JSON.stringify(r))].join('\n');
}

/**
 * What the Planner is told about an agent's datasources: their names and
 * the tables most relevant to the request (empty without a data port).
 */
export async function datasourceNotes(ctx: Pick<RoleContext, 'ports' | 'resources' | 'task'>): Promise<string> {
  const port = ctx.ports.data;
  if (!port) return '';
  const notes: string[] = [];
  for (const name of datasourceNames(ctx)) {
    const schema = await port.schema(name, ctx.task);
    if (schema.ok)
      notes.push(`datasource "${name}" (${schema.value.dialect}; tables: ${schema.value.tables.join(', ')})`);
  }
  return notes.length ? ` Data: ${notes.join('; ')}.` : '';
}
