import type { DataOutcome, DataPort, DataRows, DataSchema } from '../ports';
import { collectRun, testAgent, testApp } from '../testing/run-helpers';
import { ScriptedLlm } from '../testing/scripted-llm';
import type { TeamEvent } from '../types';
import { IncrementalVisRenderer } from '../vis/incremental-vis-renderer';
import { renderPlain } from '../vis/render';
import { parseVis } from '../vis/parse-vis';
import { describeResult, parseSqlReply } from './data-scientist';

/** An in-memory datasource: one table, queries answered from a script keyed by SQL. */
class TableDataPort implements DataPort {
  readonly queries: string[] = [];
  constructor(private readonly answers: Record<string, DataOutcome<DataRows>>) {}
  schema(name: string): Promise<DataOutcome<DataSchema>> {
    if (name !== 'sales') return Promise.resolve({ ok: false, reason: `no datasource named "${name}"` });
    return Promise.resolve({
      ok: true,
      value: { dialect: 'sqlite', text: 'Table orders\n  region TEXT\n  amount REAL', tables: ['orders'] },
    });
  }
  query(_name: string, sql: string): Promise<DataOutcome<DataRows>> {
    this.queries.push(sql);
    return Promise.resolve(this.answers[sql] ?? { ok: false, reason: 'no such table: order' });
  }
}

const db = { type: 'database', name: 'sales', value: '{"db_name": "sales"}' };
const GOOD = 'SELECT region, sum(amount) AS total FROM orders GROUP BY region';
const rows = [
  { region: 'EU', total: 30 },
  { region: 'US', total: 12.5 },
];

function reply(sql: string, display = 'response_bar_chart') {
  return JSON.stringify({ display_type: display, sql, thought: 'Sales per region.' });
}

describe('DataScientist', () => {
  it('feeds a failing query back, then charts the fixed one in the vis', async () => {
    const port = new TableDataPort({ [GOOD]: { ok: true, value: { columns: [], rows, total: 2, truncated: false } } });
    const llm = new ScriptedLlm([reply('SELECT * FROM order'), '```json\n' + reply(GOOD) + '\n```']);
    const events = await collectRun({
      app: testApp('single_agent', [testAgent('DataScientist', { resources: [db] })]),
      input: 'Sales per region?',
      llm,
      resources: { data: port },
    });
    expect(port.queries).toEqual(['SELECT * FROM order', GOOD]);
    // The schema went into the system prompt; the database error into the retry.
    expect(llm.calls[0].messages[0].content).toContain('Datasource "sales" (sqlite SQL dialect):\nTable orders');
    expect(llm.calls[1].messages.at(-1)?.content).toBe(
      'Your previous answer was not accepted: the SQL was not run or failed: no such table: order. Answer the task again and fix this.',
    );
    const chart = events.find((e) => e.type === 'chart');
    expect(chart).toEqual({
      type: 'chart',
      num: 1,
      sender: 'DataScientist',
      receiver: 'Human',
      chart: { sql: GOOD, type: 'response_bar_chart', title: '', describe: 'Sales per region.', data: rows },
    });
    const done = events.find((e) => e.type === 'run-done') as Extract<TeamEvent, { type: 'run-done' }>;
    expect(done.answer).toBe(`SQL: ${GOOD}\nResult: 2 rows.\n{"region":"EU","total":30}\n{"region":"US","total":12.5}`);

    // The plain view: the accepted reply, then the rows as a table.
    expect(renderPlain(events).endsWith('\n\n| region | total |\n| --- | --- |\n| EU | 30 |\n| US | 12.5 |')).toBe(
      true,
    );

    // The vis: incremental deltas concatenate to the last full view, every snapshot parses, the chart is inside.
    const renderer = new IncrementalVisRenderer();
    let deltas = '';
    for (const e of events) {
      deltas += renderer.push(e);
      parseVis(renderer.snapshot());
    }
    expect(deltas).toBe(renderer.snapshot());
    const [plans] = parseVis(deltas);
    const messages = plans.tag === 'agent-plans' ? plans.items[0].messages : [];
    const chartMessage = messages.find((m) => m.markdown.startsWith('```vis-db-chart\n'));
    expect(chartMessage).toMatchObject({ sender: 'DataScientist', receiver: 'Human', model: null });
    const body = chartMessage!.markdown.slice('```vis-db-chart\n'.length, -'\n```'.length);
    expect(JSON.parse(body)).toEqual({
      sql: GOOD,
      type: 'response_bar_chart',
      title: '',
      describe: 'Sales per region.',
      data: rows,
    });
  });

  it('reports an empty result as a result, without retrying', async () => {
    const empty = 'SELECT region FROM orders WHERE amount > 1000';
    const port = new TableDataPort({
      [empty]: { ok: true, value: { columns: [], rows: [], total: 0, truncated: false } },
    });
    const llm = new ScriptedLlm([reply(empty, 'response_table')]);
    const events = await collectRun({
      app: testApp('single_agent', [testAgent('DataScientist', { resources: [db] })]),
      input: 'Big orders?',
      llm,
      resources: { data: port },
    });
    expect(llm.calls).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'run-done', answer: `SQL: ${empty}\nThe query returned no rows.` });
  });

  it('fails its step with a clear reason when the run has no data port', async () => {
    const events = await collectRun({
      app: testApp('single_agent', [testAgent('DataScientist', { resources: [db] })]),
      input: 'Sales?',
      llm: new ScriptedLlm([]),
    });
    expect(events.at(-1)).toMatchObject({
      type: 'run-failed',
      reason: 'Step 1 (DataScientist) cannot run: this run has no access to datasources (no data port)',
    });
  });

  it('parses the reply tolerantly and keeps unknown chart types drawable', () => {
    expect(parseSqlReply('Here: {"display_type": "pie", "sql": "SELECT 1", "thought": "t"} done')).toEqual({
      ok: true,
      value: { sql: 'SELECT 1', type: 'response_table', thought: 't', title: '' },
    });
    expect(parseSqlReply('no json')).toEqual({
      ok: false,
      reason: 'the reply has no JSON object {"display_type", "sql", "thought"}',
    });
    expect(parseSqlReply('{"display_type": "response_table"}')).toEqual({
      ok: false,
      reason: 'the JSON has no "sql" string',
    });
  });

  it('caps the rows later steps read', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ n: i }));
    const text = describeResult('SELECT n', { columns: ['n'], rows: many, total: 5000, truncated: true });
    expect(text.split('\n')).toHaveLength(2 + 20);
    expect(text.split('\n')[1]).toBe('Result: 5000 rows (the first 20 below).');
  });
});
