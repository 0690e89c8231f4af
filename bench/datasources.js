'use strict';
/**
 * node bench/datasources.js
 *
 * Datasources on the local Postgres, through the compiled server code
 * (dist; built when stale):
 *   1. schema read of a 300-table database: cold (a new connection, every
 *      table's columns, keys, comments and 3 sample rows) and from the cache;
 *   2. building a prompt's schema text from the cached schema (bar: p50 ≤ 5 ms);
 *   3. the read-only runner (parse check, read-only transaction, cursor, JSON
 *      conversion) against the raw driver for a small query, on one warm
 *      connection each (bar: overhead p50 ≤ 2 ms).
 * Appends its figures to bench/RESULTS.md. About a minute.
 */
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const { Pool } = require('pg');
const { createDatabase, dropAll } = require('./lib/db');
const { ensureBuild } = require('./lib/procs');
const { appendSection, bar, fmt, table } = require('./lib/report');

const DIST = join(__dirname, '..', 'dist', 'apps', 'server', 'src', 'datasources');
const TABLES = 300;
/** The default DATASOURCE_SCHEMA_MAX_TOKENS. */
const BUDGET_TOKENS = 3000;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function time(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

async function seed(db) {
  const words = [
    'sales',
    'orders',
    'customers',
    'stock',
    'invoices',
    'payments',
    'shipments',
    'returns',
    'staff',
    'leads',
  ];
  const statements = [];
  for (let i = 1; i <= TABLES; i++) {
    const name = `${words[i % words.length]}_${i}`;
    const ref = i > 1 ? `, parent_id integer REFERENCES ${words[(i - 1) % words.length]}_${i - 1}(id)` : '';
    statements.push(
      `CREATE TABLE ${name} (id integer PRIMARY KEY, label text NOT NULL, amount numeric(12,2), created_at timestamptz DEFAULT now(), note text${ref})`,
      `COMMENT ON TABLE ${name} IS 'Table ${i} of the ${words[i % words.length]} area'`,
      `COMMENT ON COLUMN ${name}.amount IS 'Amount in EUR'`,
      `INSERT INTO ${name} (id, label, amount) SELECT g, 'row ' || g, g * 1.5 FROM generate_series(1, 5) g`,
    );
  }
  await db.query(statements.join(';\n'));
}

async function main() {
  const log = (m) => console.log(`[datasources] ${m}`);
  if (ensureBuild(log)) log('built');
  const { PostgresDriver } = require(join(DIST, 'drivers', 'postgres.driver.js'));
  const { indexSchema, schemaForQuestion } = require(join(DIST, 'schema-prompt.js'));
  const { checkReadOnly } = require(join(DIST, 'sql-guard.js'));
  const { tokenCounter } = require(join(__dirname, '..', 'dist', 'libs', 'llm', 'src', 'util', 'tokens.js'));
  const countTokens = await tokenCounter();

  const db = await createDatabase('ds');
  try {
    log(`seeding ${TABLES} tables`);
    await seed(db);
    const u = new URL(db.url);
    const spec = {
      type: 'postgresql',
      host: u.hostname,
      port: Number(u.port || 5432),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: db.name,
      path: '',
    };

    // 1. Cold schema reads (a new driver each time), then the cached one (what a prompt uses).
    const cold = await time(5, async () => {
      const driver = new PostgresDriver(spec, 5000);
      indexSchema(await driver.readSchema(3), countTokens);
      await driver.close();
    });
    const driver = new PostgresDriver(spec, 5000);
    const cache = new Map();
    const cached = () => {
      let index = cache.get(1);
      if (!index) cache.set(1, (index = driver.readSchema(3).then((t) => indexSchema(t, countTokens))));
      return index;
    };
    await cached();
    const cachedRead = await time(2000, () => cached());
    const index = await cached();

    // 2. Prompt building from the cache, over varied questions.
    const questions = [
      'Total sales per month in 2024',
      'Which customers have unpaid invoices?',
      'Shipments returned last quarter by staff',
      'How many leads turned into orders?',
      'Stock levels of the items with the most payments',
    ];
    const prompt = await time(2000, (i) => schemaForQuestion(index, questions[i % questions.length], BUDGET_TOKENS));
    const promptChars = schemaForQuestion(index, questions[0], BUDGET_TOKENS).length;

    // 3. Runner vs raw driver for a small query, each on one warm connection.
    const sql = 'SELECT id, label, amount FROM sales_10 WHERE id <= 3 ORDER BY id';
    const raw = new Pool({ connectionString: db.url, max: 1 });
    await raw.query(sql);
    const limits = { timeoutMs: 10000, maxRows: 1000 };
    const runner = new PostgresDriver({ ...spec }, 5000);
    const run = async () => {
      const checked = checkReadOnly(sql, 'postgresql');
      if (!checked.ok) throw new Error(checked.reason);
      return runner.query(checked.sql, limits);
    };
    await run();
    for (let i = 0; i < 200; i++) {
      await raw.query(sql);
      await run();
    }
    const rawTimes = [];
    const runTimes = [];
    for (let i = 0; i < 2000; i++) {
      let t = performance.now();
      await raw.query(sql);
      rawTimes.push(performance.now() - t);
      t = performance.now();
      await run();
      runTimes.push(performance.now() - t);
    }
    const guard = await time(2000, () => checkReadOnly(sql, 'postgresql'));
    await raw.end();
    await runner.close();
    await driver.close();

    const overhead = pct(runTimes, 50) - pct(rawTimes, 50);
    const rows = [
      [
        'schema read, cold (300 tables, 3 sample rows each)',
        `${fmt(pct(cold, 50))} ms p50 (5 runs, max ${fmt(Math.max(...cold))})`,
        '–',
        '–',
      ],
      ['schema from the cache', `${fmt(pct(cachedRead, 50) * 1000)} µs p50`, '–', '–'],
      [
        'prompt schema text from the cache (3,000-token budget)',
        `${fmt(pct(prompt, 50))} ms p50, ${fmt(pct(prompt, 99))} ms p99 (${promptChars} chars)`,
        '≤ 5 ms p50',
        bar(pct(prompt, 50) <= 5),
      ],
      [
        'runner overhead vs raw pg, small query',
        `${fmt(overhead)} ms p50 (runner ${fmt(pct(runTimes, 50))}, raw ${fmt(pct(rawTimes, 50))}; parse check ${fmt(pct(guard, 50))})`,
        '≤ 2 ms p50',
        bar(overhead <= 2),
      ],
    ];
    const body = table(['measure', 'figure', 'bar', ''], rows);
    console.log(body);
    appendSection('Datasources: schema cache, prompt building, read-only runner', {
      method: `\`node bench/datasources.js\`: a ${TABLES}-table Postgres database on the local server; the compiled
datasources code (Postgres driver, schema index, SQL parse check) called in-process. The runner runs
the parse check, then one round trip \`BEGIN READ ONLY; SET LOCAL statement_timeout; DECLARE … CURSOR; FETCH\`
and a \`ROLLBACK\`; the raw figure is \`pool.query\` of the same statement. 2,000 alternating runs after 200 warm-up.`,
      body,
    });
  } finally {
    await db.drop();
    await dropAll();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
