'use strict';
/**
 * Promises created per chat request, by the frame that created them: each
 * build (this one, and every `main.js` given) serves WARM chat_normal
 * 1-token streams from an instant upstream, then counts the promises of the
 * next N (one at a time) with an async_hooks init hook preloaded into the
 * server (`lib/count-promises.js`). Every promise runs Node's promise hooks
 * while an AsyncLocalStorage is active (the request context), so the count
 * is part of a request's fixed cost; it does not depend on the machine's load.
 *
 *   node bench/promises.js [other/dist/apps/server/src/main.js ...]
 *   WARM=1000 N=200 TOP=20 (defaults); under a minute per build
 *
 * Appends a section to bench/RESULTS.md.
 */
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const procs = require('./lib/procs');
const { createDatabase } = require('./lib/db');
const { API_KEY } = require('./lib/stack');
const { buildLabel, eachBuild, replyLabel, streamRunner } = require('./lib/per-request');
const { appendSection, table } = require('./lib/report');

const WARM = Number(process.env.WARM || 1000);
const N = Number(process.env.N || 200);
const TOP = Number(process.env.TOP || 20);
const PRELOAD = join(__dirname, 'lib', 'count-promises.js');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForFile(file, ms) {
  const until = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`no promise counts written to ${file}`);
    await sleep(50);
  }
  await sleep(50);
  return JSON.parse(readFileSync(file, 'utf8'));
}

async function measure(main, fake, log) {
  const label = buildLabel(main);
  const db = await createDatabase('promises');
  const out = join(procs.TMP, `promises-${process.pid}-${db.name}.json`);
  rmSync(out, { force: true });
  let server;
  try {
    server = await procs.startEnsemble({
      databaseUrl: db.url,
      fakePort: fake.port,
      apiKey: API_KEY,
      main,
      env: { BENCH_PROMISES_OUT: out },
      nodeArgs: ['--require', PRELOAD],
    });
    const streams = streamRunner({ fake, server, label, concurrency: 1, maxMs: 600_000 });
    const run = streams.run;
    log(`${label}: ${WARM} requests to warm up, then ${N} counted`);
    await run(WARM);
    process.kill(server.pid, 'SIGUSR1');
    await sleep(100);
    const n = await run(N);
    // The last run's end (its release, its log line) settles after its [DONE].
    await sleep(300);
    process.kill(server.pid, 'SIGUSR2');
    const counts = await waitForFile(out, 5000);
    streams.close();
    return {
      label,
      perRequest: counts.total / n,
      byFrame: new Map(Object.entries(counts.byFrame).map(([k, v]) => [k, v / n])),
    };
  } finally {
    await server?.stop();
    await db.drop();
    rmSync(out, { force: true });
  }
}

async function main() {
  const log = (m) => console.error(`[promises] ${m}`);
  const rows = await eachBuild((build, fake) => measure(build, fake, log), log);
  let body = table(
    ['build', 'promises per request'],
    rows.map((r) => [r.label, r.perRequest.toFixed(1)]),
  );
  for (const r of rows) {
    const top = [...r.byFrame].sort((a, b) => b[1] - a[1]).slice(0, TOP);
    body += `\n\nThe ${TOP} frames that create the most promises per request (${r.label}):\n\n${table(
      ['frame', 'per request'],
      top.map(([frame, v]) => [frame, v.toFixed(1)]),
    )}`;
  }
  console.log(body);
  appendSection('Promises per request', {
    method:
      `Method: each build serves ${WARM} chat_normal ${replyLabel()} to warm up, then the ` +
      `promises created while the next ${N} are served one at a time are counted by an async_hooks init hook ` +
      `preloaded into the server (bench/lib/count-promises.js), each by the first frame of JavaScript code (not Node's internals or a builtin such as Promise.then).`,
    body,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
