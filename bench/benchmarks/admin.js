'use strict';
/**
 * Benchmark 5 — admin reads. GET /api/v2/serve/apps?page_size=20 with 1,000
 * apps of 3 details each (inserted by SQL), requests/s through Ensemble vs a
 * minimal node:http + pg server running the same three SQL statements and
 * returning the same body (bench/pg-floor.js), with autocannon. Phases
 * back to back in alternating order.
 */
const autocannon = require('autocannon');
const { startStack, AUTH, API_KEY } = require('../lib/stack');
const { table, bar } = require('../lib/report');
const { startFloor, httpGet, cpuMs } = require('../lib/procs');

const APPS = 1000;
const CONNECTIONS = 16;
const PHASE_S = Number(process.env.BENCH_ADMIN_SECONDS || 5);
const ROUNDS = 2;
const PATH = '/api/v2/serve/apps?page_size=20';

function cannon(port, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}${PATH}`,
        connections: CONNECTIONS,
        duration: seconds,
        headers: AUTH,
        pipelining: 1,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

async function seed(db) {
  await db.query(
    `INSERT INTO apps (app_code, app_name, app_describe, team_mode, language, team_context, user_code, sys_code, published, recommend_questions, created_at, updated_at)
     SELECT 'bench-app-' || lpad(g::text, 4, '0'), 'Bench app ' || g, 'An app of the admin read benchmark, number ' || g, 'auto_plan', 'en',
            '"plan the work"'::jsonb, 'user' || (g % 10), 'bench', g % 2 = 0, '[{"question":"What can you do?"}]'::jsonb,
            now() - make_interval(secs => g), now() - make_interval(secs => g)
     FROM generate_series(1, $1::int) g`,
    [APPS],
  );
  await db.query(
    `INSERT INTO app_details (app_code, position, agent_name, resources, prompt_template, llm_strategy, llm_strategy_value)
     SELECT 'bench-app-' || lpad(g::text, 4, '0'), p, (ARRAY['AI Assistant', 'CodeEngineer', 'Summarizer'])[p + 1],
            '[{"type":"knowledge","name":"docs","value":"kb-1","is_dynamic":false}]'::jsonb, NULL, 'priority', 'fake-gpt'
     FROM generate_series(1, $1::int) g, generate_series(0, 2) p`,
    [APPS],
  );
  await db.query('ANALYZE apps; ANALYZE app_details');
}

async function run({ log, profile }) {
  const stack = await startStack('admin', { proxy: false, profile });
  let floor;
  try {
    log(`seeding ${APPS} apps × 3 details`);
    await seed(stack.db);
    floor = await startFloor(stack.db.url, API_KEY);
    const servers = { ensemble: stack.ensemble, floor };

    // Same body from both (the floor is a fair floor only if it does the same work).
    const a = await httpGet(stack.ensemble.port, PATH, AUTH);
    const b = await httpGet(floor.port, PATH, AUTH);
    const same = a.status === 200 && b.status === 200 && a.body === b.body;
    const bytes = a.body.length;
    if (!same)
      log(`warning: bodies differ (ensemble ${a.status} ${a.body.length} B, floor ${b.status} ${b.body.length} B)`);

    log('warm-up');
    stack.markMeasured();
    await cannon(stack.ensemble.port, 2);
    await cannon(floor.port, 2);

    const acc = { ensemble: [], floor: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of r % 2 === 0 ? ['ensemble', 'floor'] : ['floor', 'ensemble']) {
        log(`round ${r + 1}: ${name}`);
        const c0 = cpuMs(servers[name].pid);
        const res = await cannon(servers[name].port, PHASE_S);
        const cpu = cpuMs(servers[name].pid) - c0;
        acc[name].push({ res, cpu });
      }
    }
    const agg = (name) => {
      const list = acc[name];
      const total = list.reduce((s, x) => s + x.res.requests.total, 0);
      const seconds = list.reduce((s, x) => s + x.res.duration, 0);
      return {
        name,
        total,
        rps: total / seconds,
        p50: list.map((x) => x.res.latency.p50).reduce((s, v) => s + v, 0) / list.length,
        p99: list.map((x) => x.res.latency.p99).reduce((s, v) => s + v, 0) / list.length,
        errors: list.reduce((s, x) => s + x.res.errors + x.res.timeouts + x.res.non2xx, 0),
        cpuPerReq: list.reduce((s, x) => s + x.cpu, 0) / total,
      };
    };
    const e = agg('ensemble');
    const f = agg('floor');
    const ratio = e.rps / f.rps;
    const bars = [
      [
        'Ensemble ≥ 50% of the node:http + pg floor',
        `${e.rps.toFixed(0)} vs ${f.rps.toFixed(0)} req/s = ${(ratio * 100).toFixed(0)}%`,
        bar(ratio >= 0.5),
      ],
      ['errors', String(e.errors + f.errors), bar(e.errors + f.errors === 0)],
    ];
    const body = [
      table(
        ['server', 'requests', 'errors', 'req/s', 'latency p50 ms', 'latency p99 ms', 'server CPU ms/req'],
        [e, f].map((x) => [
          x.name === 'floor' ? 'node:http + pg floor' : 'Ensemble',
          x.total,
          x.errors,
          x.rps.toFixed(0),
          x.p50,
          x.p99,
          x.cpuPerReq.toFixed(2),
        ]),
      ),
      '',
      `Same response body from both: ${same ? 'yes' : 'NO'} (${bytes} bytes).`,
      '',
      '### Bars',
      '',
      table(['bar', 'figure', 'result'], bars),
    ].join('\n');
    const method = `Method: ${APPS} apps with 3 details each inserted by SQL (then ANALYZE); GET ${PATH} with the API key, autocannon ${CONNECTIONS} connections, ${ROUNDS} rounds of ${PHASE_S} s per server in alternating order after a 2 s warm-up each. The floor (bench/pg-floor.js, its own process, pg pool of 10 like Ensemble's default) runs the three statements Ensemble's AppsService.list() sends through TypeORM (page with LIMIT/OFFSET, COUNT, details of the page's apps; SQL copied from TypeORM's query log) and maps rows to the same JSON; the bodies are compared byte for byte. Server CPU from /proc.`;
    return {
      title: 'Benchmark 5: admin reads (GET /api/v2/serve/apps)',
      method,
      body,
      profileDir: stack.profileDir,
      skipMs: stack.skipMs,
      bars,
    };
  } finally {
    if (floor) await floor.stop();
    await stack.stop();
  }
}

module.exports = { name: 'admin', run };
