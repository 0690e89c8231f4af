/**
 * The data port: how a run reaches the datasources its resources name. The
 * server implements it (connections, the read-only runner, the schema
 * cache); this library only sees names, text and rows.
 */

/** The chart types DB-GPT's web UI draws from a `vis-db-chart` item. */
export const DB_CHART_TYPES = [
  'response_line_chart',
  'response_bar_chart',
  'response_pie_chart',
  'response_scatter_chart',
  'response_area_chart',
  'response_heatmap_chart',
  'response_table',
] as const;
export type DbChartType = (typeof DB_CHART_TYPES)[number];

/** One `vis-db-chart` item, with the fields DB-GPT's UI reads. */
export interface DbChart {
  sql: string;
  type: DbChartType;
  title: string;
  describe: string;
  /** The rows, values as JSON (dates as ISO strings). */
  data: Record<string, unknown>[];
}

/** The rows of a read-only query: at most the row cap; `total` null when counting beyond the cap ran out of time. */
export interface DataRows {
  columns: string[];
  rows: Record<string, unknown>[];
  total: number | null;
  truncated: boolean;
}

export type DataOutcome<T> = { ok: true; value: T } | { ok: false; reason: string };

/** What the prompt needs to know about a datasource. */
export interface DataSchema {
  /** `postgresql`, `mysql` or `sqlite`: the SQL dialect to write. */
  dialect: string;
  /** Tables, columns, keys, comments and sample values, trimmed to the question. */
  text: string;
  /** Names of the tables most relevant to the question, best first. */
  tables: string[];
}

export interface DataPort {
  /** The schema of datasource `name` for a question; a reason when the datasource does not exist or cannot be read. */
  schema(name: string, question: string): Promise<DataOutcome<DataSchema>>;
  /** Runs one read statement read-only; a refusal or a database error comes back as the reason. */
  query(name: string, sql: string, signal: AbortSignal): Promise<DataOutcome<DataRows>>;
}

/** The datasource name a `database` resource's value names: `{"db_name": …}` JSON or the plain name. */
export function databaseName(value: string): string | undefined {
  const text = value.trim();
  if (!text) return undefined;
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { db_name?: unknown; name?: unknown };
      const name = parsed.db_name ?? parsed.name;
      return typeof name === 'string' && name.trim() ? name.trim() : undefined;
    } catch {
      return undefined;
    }
  }
  return text;
}
