/**
 * Generated SQL against real databases (Postgres, MariaDB, a SQLite file),
 * the "model" being the fake upstream: hostile statements refused or cut
 * off with the reason fed back and nothing changed in the target database,
 * the row cap, exact JSON values, the DataScientist in an auto_plan team,
 * and the chat_data / chat_db_qa modes streamed and not.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parseVis } from '@ensemble/agents';
import { contents, rawPost } from './support/chat-env';
import { DatasourceEnv, startDatasourceEnv } from './support/datasource-env';
import { expectDualError } from './support/expect-error';
import type { ChatRequestBody } from './support/fake-openai';
import { AUTH } from './support/server';
import {
  createMariaTarget,
  createPgTarget,
  createSqliteTarget,
  MariaTarget,
  PgTarget,
} from './support/target-databases';

const CHAT = '/api/v2/chat/completions';
const GOOD =
  'SELECT c.region, SUM(o.amount) AS total FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.region ORDER BY c.region';
const GOOD_ROWS = [
  { region: 'APAC', total: 99.99 },
  { region: 'EU', total: 30.5 },
  { region: 'US', total: 12.25 },
];

const sqlReply = (sql: string, display_type = 'response_bar_chart') =>
  JSON.stringify({ display_type, sql, thoughts: 'Sales per region.' });

/** DB-GPT's chart element for a result. */
const chartView = (sql: string, data: unknown[], type = 'response_bar_chart') =>
  `<chart-view content="${JSON.stringify({ type, sql, data })
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')}" />`;

const text = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content ?? ''));
const lastUser = (body: ChatRequestBody | undefined) =>
  text([...(body?.messages ?? [])].reverse().find((m) => m.role === 'user')?.content);
const system = (body: ChatRequestBody | undefined) => text(body?.messages?.[0]?.content);

describe('generated SQL on real databases', () => {
  let env: DatasourceEnv;
  let pg: PgTarget;
  let maria: MariaTarget;
  let sqlite: { path: string; file: string };
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    [env, pg, maria] = await Promise.all([startDatasourceEnv(), createPgTarget(), createMariaTarget()]);
    http = request(env.origin);
    sqlite = createSqliteTarget(env.filesDir, 'sales.db');
    // A function with a side effect the SQL parser cannot see.
    await pg.query(
      `CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS 'INSERT INTO customers VALUES (99, ''x'', ''y'') RETURNING 1'`,
    );
    const bodies = [
      { db_type: 'postgresql', db_name: pg.name, db_host: '127.0.0.1', db_port: 5432, db_user: 'postgres' },
      { db_type: 'mysql', db_name: maria.name, db_host: '127.0.0.1', db_port: 3306, db_user: 'root' },
      { db_type: 'sqlite', db_name: 'lite', db_path: sqlite.file },
    ];
    for (const body of bodies) await http.post('/api/v2/serve/datasources').set(AUTH).send(body).expect(200);
  }, 60000);
  afterAll(async () => {
    await env?.close();
    await pg?.drop();
    await maria?.drop();
  }, 30000);
  beforeEach(() => env.fake.reset());

  async function chatData(db: string, question: string, extra: Record<string, unknown> = {}) {
    const res = await http
      .post(CHAT)
      .set(AUTH)
      .send({ model: 'fake-gpt', messages: question, chat_mode: 'chat_data', chat_param: db, stream: false, ...extra });
    if (res.status !== 200)
      console.log(JSON.stringify(res.body), env.logs.filter((l) => /error|fail/i.test(l)).slice(-3));
    expect(res.status).toBe(200);
    return res.body as { choices: { message: { content: string } }[]; id: string };
  }

  /** Runs a hostile statement, then a good one; returns the reason fed back to the model. */
  async function refusedThenFixed(db: string, hostile: string): Promise<string> {
    env.fake.reset();
    env.fake.enqueue(sqlReply(hostile), sqlReply(GOOD));
    const body = await chatData(db, 'Sales per region?');
    expect(body.choices[0].message.content).toBe(`Sales per region.\n${chartView(GOOD, GOOD_ROWS)}`);
    expect(env.fake.chatRequests).toHaveLength(2);
    return lastUser(env.fake.chatRequests[1].body);
  }

  const feedback = (reason: string) =>
    `Your previous answer was not accepted: the SQL was not run or failed: ${reason}. Answer the task again and fix this.`;
  const notRead = (kind: string) => feedback(`refused: only a read (SELECT or WITH … SELECT) may run, not ${kind}`);

  describe('Postgres', () => {
    const db = () => pg.name;

    it('refuses writes, DDL, several statements, COPY, INTO and side-effecting functions; nothing changes', async () => {
      const cases: [string, string][] = [
        ['DROP TABLE orders', notRead('DROP')],
        ['DELETE FROM orders', notRead('DELETE')],
        ['UPDATE orders SET amount = 0', notRead('UPDATE')],
        ["INSERT INTO customers VALUES (9, 'Eve', 'EU')", notRead('INSERT')],
        ['CREATE TABLE evil (a int)', notRead('CREATE')],
        ['SELECT 1; DROP TABLE orders', feedback('refused: only one statement may run, the SQL has 2')],
        [
          "SELECT nextval('order_seq')",
          feedback('refused: the function nextval() is not allowed (side effects or stalls)'),
        ],
        ['SELECT pg_sleep(60)', feedback('refused: the function pg_sleep() is not allowed (side effects or stalls)')],
        [
          "SELECT set_config('default_transaction_read_only', 'off', false)",
          feedback('refused: the function set_config() is not allowed (side effects or stalls)'),
        ],
        ['SELECT * INTO evil FROM orders', feedback('refused: SELECT … INTO may not run (it writes)')],
        ['SELECT bump()', feedback('cannot execute INSERT in a read-only transaction')],
      ];
      for (const [hostile, reason] of cases) expect(await refusedThenFixed(db(), hostile)).toBe(reason);
      for (const hostile of [
        "COPY orders TO PROGRAM 'touch /tmp/ensemble-pwned'",
        'WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d',
      ]) {
        expect(await refusedThenFixed(db(), hostile)).toMatch(
          /^Your previous answer was not accepted: the SQL was not run or failed: refused: /,
        );
      }
      expect(await pg.query('SELECT count(*)::int AS n FROM orders')).toEqual([{ n: 4 }]);
      expect(await pg.query('SELECT count(*)::int AS n FROM customers')).toEqual([{ n: 3 }]);
      expect(await pg.query(`SELECT to_regclass('evil') AS t`)).toEqual([{ t: null }]);
      expect(await pg.query('SELECT is_called FROM order_seq')).toEqual([{ is_called: false }]);
      expect(existsSync('/tmp/ensemble-pwned')).toBe(false);
    }, 60000);

    it('cuts a long statement at the timeout and feeds the reason back', async () => {
      const started = Date.now();
      const reason = await refusedThenFixed(db(), 'SELECT count(*) FROM nums a, nums b, nums c');
      expect(reason).toBe(feedback('canceling statement due to statement timeout'));
      expect(Date.now() - started).toBeLessThan(6000);
    }, 30000);

    it('caps a 10-million-row cross join without fetching it', async () => {
      const before = process.memoryUsage().rss;
      env.fake.enqueue(sqlReply('SELECT a.n AS a, b.n AS b FROM nums a CROSS JOIN thousand b', 'response_table'));
      const body = await chatData(db(), 'All pairs');
      const content = body.choices[0].message.content;
      const data = JSON.parse(content.slice(content.indexOf('content="') + 9, -4).replace(/&quot;/g, '"')) as {
        data: unknown[];
      };
      expect(data.data).toHaveLength(50);
      expect(data.data[0]).toEqual({ a: expect.any(Number), b: expect.any(Number) });
      expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    }, 30000);
  });

  describe('MariaDB', () => {
    const db = () => maria.name;

    it('refuses writes, DDL, several statements, INTO OUTFILE, SLEEP and sequences; nothing changes', async () => {
      const cases: [string, string][] = [
        ['DROP TABLE orders', notRead('DROP')],
        ['DELETE FROM orders', notRead('DELETE')],
        ['UPDATE orders SET amount = 0', notRead('UPDATE')],
        ["INSERT INTO customers VALUES (9, 'Eve', 'EU')", notRead('INSERT')],
        ['CREATE TABLE evil (a int)', notRead('CREATE')],
        ['SELECT 1; DROP TABLE orders', feedback('refused: only one statement may run, the SQL has 2')],
        [
          "SELECT * FROM orders INTO OUTFILE '/tmp/ensemble-outfile.csv'",
          feedback('refused: SELECT … INTO may not run (it writes)'),
        ],
        ['SELECT SLEEP(60)', feedback('refused: the function sleep() is not allowed (side effects or stalls)')],
        [
          'SELECT nextval(order_seq)',
          feedback('refused: the function nextval() is not allowed (side effects or stalls)'),
        ],
      ];
      for (const [hostile, reason] of cases) expect(await refusedThenFixed(db(), hostile)).toBe(reason);
      expect(await maria.query('SELECT count(*) AS n FROM orders')).toEqual([{ n: 4 }]);
      expect(await maria.query('SELECT count(*) AS n FROM customers')).toEqual([{ n: 3 }]);
      expect(await maria.query(`SHOW TABLES LIKE 'evil'`)).toEqual([]);
      expect(await maria.query('SELECT next_not_cached_value AS v FROM order_seq')).toEqual([{ v: 1 }]);
      expect(existsSync('/tmp/ensemble-outfile.csv')).toBe(false);
    }, 60000);

    it('cuts a long statement at the timeout and feeds the reason back', async () => {
      const started = Date.now();
      const reason = await refusedThenFixed(db(), 'SELECT count(*) FROM nums a, nums b, nums c');
      expect(reason).toMatch(
        /^Your previous answer was not accepted: the SQL was not run or failed: .*(max_statement_time|statement timeout)/,
      );
      expect(Date.now() - started).toBeLessThan(6000);
    }, 30000);

    it('caps a 10-million-row cross join', async () => {
      env.fake.enqueue(sqlReply('SELECT a.n AS a, b.n AS b FROM nums a CROSS JOIN thousand b', 'response_table'));
      const started = Date.now();
      const content = (await chatData(db(), 'All pairs')).choices[0].message.content;
      expect(content.match(/&quot;a&quot;:/g)).toHaveLength(50);
      expect(Date.now() - started).toBeLessThan(6000);
    }, 30000);
  });

  describe('SQLite', () => {
    it('refuses ATTACH, writes, several statements and extensions; the file is unchanged', async () => {
      const before = readFileSync(sqlite.path);
      const cases: [string, string][] = [
        ["ATTACH DATABASE '/tmp/ensemble-attached.db' AS x", notRead('ATTACH')],
        ['DROP TABLE orders', notRead('DROP')],
        ["INSERT INTO customers VALUES (9, 'Eve', 'EU')", notRead('INSERT')],
        ['SELECT 1; DROP TABLE orders', feedback('refused: only one statement may run, the SQL has 2')],
        [
          "SELECT load_extension('/tmp/x')",
          feedback('refused: the function load_extension() is not allowed (side effects or stalls)'),
        ],
      ];
      for (const [hostile, reason] of cases) expect(await refusedThenFixed('lite', hostile)).toBe(reason);
      expect(readFileSync(sqlite.path).equals(before)).toBe(true);
      expect(existsSync('/tmp/ensemble-attached.db')).toBe(false);
    }, 60000);

    it('cuts an endless recursive query at the timeout and feeds the reason back', async () => {
      const started = Date.now();
      const reason = await refusedThenFixed(
        'lite',
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c',
      );
      expect(reason).toBe(feedback('the query was cancelled: it ran longer than the statement timeout (1500 ms)'));
      expect(Date.now() - started).toBeLessThan(6000);
    }, 30000);

    it('caps a 10-million-row cross join within the time limit', async () => {
      env.fake.enqueue(sqlReply('SELECT a.n AS a, b.n AS b FROM nums a CROSS JOIN thousand b', 'response_table'));
      const started = Date.now();
      const content = (await chatData('lite', 'All pairs')).choices[0].message.content;
      expect(content.match(/&quot;a&quot;:/g)).toHaveLength(50);
      expect(Date.now() - started).toBeLessThan(6000);
    }, 30000);
  });

  it('converts values exactly on every database: ISO dates, big integers as strings, decimals as numbers', async () => {
    const sql = 'SELECT id, amount, ordered_at, big FROM orders WHERE id = 1';
    for (const db of [pg.name, maria.name, 'lite']) {
      env.fake.enqueue(sqlReply(sql, 'response_table'));
      const content = (await chatData(db, 'first order')).choices[0].message.content;
      expect(content).toBe(
        `Sales per region.\n${chartView(sql, [{ id: 1, amount: 10.5, ordered_at: '2024-01-05T10:00:00', big: '9007199254740993' }], 'response_table')}`,
      );
    }
  }, 30000);

  it('runs an auto_plan DataScientist → Summarizer team on Postgres and on MariaDB', async () => {
    for (const db of [pg.name, maria.name]) {
      env.fake.reset();
      const app = await http
        .post('/api/v2/serve/apps')
        .set(AUTH)
        .send({
          app_name: `sales ${db}`,
          team_mode: 'auto_plan',
          details: [
            {
              agent_name: 'DataScientist',
              resources: [{ type: 'database', name: 'sales', value: JSON.stringify({ db_name: db }) }],
            },
            { agent_name: 'Summarizer' },
          ],
        })
        .expect(201);
      env.fake.enqueue(
        JSON.stringify([
          { serial_number: 1, agent: 'DataScientist', content: 'Total sales per region', rely: '' },
          { serial_number: 2, agent: 'Summarizer', content: 'Say which region leads', rely: '1' },
        ]),
        sqlReply(GOOD),
        'APAC leads with 99.99.',
      );
      const res = await http.post(CHAT).set(AUTH).send({
        model: 'fake-gpt',
        messages: 'Which region sells most?',
        chat_mode: 'chat_app',
        chat_param: app.body.data.app_code,
        stream: false,
      });
      expect(res.status).toBe(200);
      const vis = res.body.choices[0].message.content as string;
      const blocks = parseVis(vis);
      const plans = blocks.find((b) => b.tag === 'agent-plans');
      if (plans?.tag !== 'agent-plans') throw new Error('no plans');
      expect(plans.items.map((i) => [i.agent, i.status])).toEqual([
        ['DataScientist', 'complete'],
        ['Summarizer', 'complete'],
      ]);
      const chart = plans.items[0].messages.find((m) => m.markdown.startsWith('```vis-db-chart\n'));
      expect(JSON.parse(chart!.markdown.slice(16, -4))).toEqual({
        sql: GOOD,
        type: 'response_bar_chart',
        title: '',
        describe: 'Sales per region.',
        data: GOOD_ROWS,
      });
      expect(plans.items[1].messages.at(-1)?.markdown).toBe('APAC leads with 99.99.');
      // The Planner saw the datasource and its relevant tables; the Summarizer got the rows.
      const dialect = db === pg.name ? 'postgresql' : 'mysql';
      expect(system(env.fake.chatRequests[0].body)).toContain(`datasource "${db}" (${dialect}; tables: `);
      expect(system(env.fake.chatRequests[1].body)).toContain('customers');
      expect(lastUser(env.fake.chatRequests[2].body)).toContain(
        `SQL: ${GOOD}\nResult: 3 rows.\n{"region":"APAC","total":99.99}\n{"region":"EU","total":30.5}\n{"region":"US","total":12.25}`,
      );
    }
  }, 60000);

  describe('chat modes', () => {
    it('chat_data streams DB-GPT’s chart view, stores the run, and continues by conv_uid', async () => {
      env.fake.enqueue(sqlReply(GOOD));
      const conv = 'data-conv-1';
      const raw = await rawPost(env.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'Sales per region?',
        chat_mode: 'chat_data',
        chat_param: pg.name,
        conv_uid: conv,
      });
      expect(raw.status).toBe(200);
      expect(raw.body.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(contents(raw.body).join('')).toBe(`Sales per region.\n${chartView(GOOD, GOOD_ROWS)}`);
      // The schema went to the model; the next turn sees this one as history.
      expect(system(env.fake.chatRequests[0].body)).toContain(`Datasource "${pg.name}" (postgresql SQL dialect):`);
      env.fake.enqueue(sqlReply('SELECT count(*) AS n FROM orders', 'response_table'));
      const second = await chatData(pg.name, 'How many orders?', { conv_uid: conv });
      expect(second.choices[0].message.content).toBe(
        `Sales per region.\n${chartView('SELECT count(*) AS n FROM orders', [{ n: 4 }], 'response_table')}`,
      );
      const messages = env.fake.chatRequests[1].body?.messages ?? [];
      expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
      expect(text(messages[2].content)).toContain(`SQL: ${GOOD}`);
      const stored = (await http.get(`/api/v2/conversations/${conv}`).set(AUTH).expect(200)).body.data;
      expect(stored).toMatchObject({ conv_uid: conv, chat_mode: 'chat_data', app_code: null, state: 'complete' });
      expect(stored.turns.map((t: { state: string; model: string }) => [t.state, t.model])).toEqual([
        ['complete', 'fake-gpt'],
        ['complete', 'fake-gpt'],
      ]);
      expect(stored.turns[0].plan_steps[0]).toMatchObject({ agent: 'DataScientist', state: 'complete' });
      // The conversation stays on its datasource: asking another one under it is refused before any work.
      const asked = env.fake.chatRequests.length;
      const other = await rawPost(env.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'And on MariaDB?',
        chat_mode: 'chat_data',
        chat_param: maria.name,
        conv_uid: conv,
      });
      expectDualError(other, 409, 'conversation_conflict', 'chat_param');
      expect(JSON.parse(other.body).err_msg).toContain(`datasource "${pg.name}"`);
      expect(env.fake.chatRequests).toHaveLength(asked);
      const after = (await http.get(`/api/v2/conversations/${conv}`).set(AUTH).expect(200)).body.data;
      expect(after.turns).toHaveLength(2);
    }, 30000);

    it('answers the README’s first try: the sample sales file and the offline model', async () => {
      execFileSync(process.execPath, [join(__dirname, '..', 'scripts', 'sample-sales.js')], {
        env: { ...process.env, DATASOURCE_FILES_DIR: env.filesDir },
      });
      await http
        .post('/api/v2/serve/datasources')
        .set(AUTH)
        .send({ db_type: 'sqlite', db_name: 'sample_sales', db_path: 'sample_sales.db' })
        .expect(200);
      const sql =
        'SELECT c.region, SUM(o.amount) AS total FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.region';
      const body = await chatData(
        'sample_sales',
        JSON.stringify({ display_type: 'response_bar_chart', thoughts: 'Sales by region', sql }),
        { model: 'ensemble-offline' },
      );
      expect(body.choices[0].message.content).toBe(
        `Sales by region\n${chartView(sql, [
          { region: 'APAC', total: 4536.95 },
          { region: 'EU', total: 5923.55 },
          { region: 'US', total: 6902 },
        ])}`,
      );
    }, 30000);

    it('caches the schema until refresh', async () => {
      const ask = async () => {
        env.fake.reset();
        env.fake.enqueue('ok');
        await http
          .post(CHAT)
          .set(AUTH)
          .send({ model: 'fake-gpt', messages: 'Tables?', chat_mode: 'chat_db_qa', chat_param: pg.name, stream: false })
          .expect(200);
        return system(env.fake.chatRequests[0].body);
      };
      expect(await ask()).not.toContain('Table refunds');
      await pg.query('CREATE TABLE refunds (id integer PRIMARY KEY, amount numeric)');
      expect(await ask()).not.toContain('Table refunds');
      const list = (await http.get('/api/v2/serve/datasources').set(AUTH)).body.data as {
        id: number;
        db_name: string;
      }[];
      const id = list.find((d) => d.db_name === pg.name)!.id;
      await http.post(`/api/v2/serve/datasources/${id}/refresh`).set(AUTH).expect(200);
      expect(await ask()).toContain('Table refunds\n  id integer NOT NULL PRIMARY KEY\n  amount numeric');
      await pg.query('DROP TABLE refunds');
    }, 30000);

    it('chat_data answers an unknown datasource with 404 before any work', async () => {
      expectDualError(
        await http
          .post(CHAT)
          .set(AUTH)
          .send({ model: 'fake-gpt', messages: 'x', chat_mode: 'chat_data', chat_param: 'nope' }),
        404,
        'datasource_not_found',
        'chat_param',
      );
      expect(env.fake.chatRequests).toHaveLength(0);
    });

    it('chat_db_qa answers from the schema, streamed and not, running nothing', async () => {
      env.fake.enqueue('Orders belong to customers through customer_id.', 'Three tables matter here.');
      const body = (
        await http
          .post(CHAT)
          .set(AUTH)
          .send({
            model: 'fake-gpt',
            messages: 'How are orders linked to customers?',
            chat_mode: 'chat_db_qa',
            chat_param: maria.name,
            stream: false,
          })
          .expect(200)
      ).body as { choices: { message: { content: string } }[] };
      expect(body.choices[0].message.content).toBe('Orders belong to customers through customer_id.');
      const prompt = system(env.fake.chatRequests[0].body);
      expect(prompt).toContain(
        `You are a database expert. Answer the user's questions about the database "${maria.name}"`,
      );
      expect(prompt).toContain('Table customers -- People who buy');
      expect(prompt).toContain('region varchar(16) NOT NULL -- Sales region; e.g. EU, US, APAC');
      expect(prompt).toContain('customer_id int(11) NOT NULL REFERENCES customers(id)');
      const raw = await rawPost(env.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'Which tables are there?',
        chat_mode: 'chat_db_qa',
        chat_param: 'lite',
      });
      expect(contents(raw.body).join('')).toBe('Three tables matter here.');
      expect(raw.body.endsWith('data: [DONE]\n\n')).toBe(true);
    }, 30000);
  });
});
