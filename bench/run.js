'use strict';
/**
 * npm run bench [-- <name>… ] [--profile]
 *   names: latency throughput team streams admin stalled auth limits durable (default: all, in that order)
 *   --profile   run Ensemble with --cpu-prof and print its top self-time functions
 *
 * Never part of `npm test`. See bench/README.md.
 */
const { performance } = require('node:perf_hooks');
const { ensureBuild, stopAll } = require('./lib/procs');
const { checkpoint, dropAll, settings, ADMIN_URL } = require('./lib/db');
const { appendSection, machine, machineLine, RESULTS, table } = require('./lib/report');
const { summarizeDir } = require('./profile');

const ALL = ['latency', 'throughput', 'team', 'streams', 'admin', 'stalled', 'auth', 'limits', 'durable'];

async function main() {
  const args = process.argv.slice(2);
  const profile = args.includes('--profile');
  const names = args.filter((a) => !a.startsWith('--'));
  for (const n of names) if (!ALL.includes(n)) throw new Error(`unknown benchmark "${n}" (one of ${ALL.join(', ')})`);
  const selected = names.length ? ALL.filter((n) => names.includes(n)) : ALL;
  const t0 = performance.now();
  const log = (msg) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

  console.log(machineLine(machine()));
  const pg = await settings();
  console.log(
    `Postgres ${pg.server_version} at ${new URL(ADMIN_URL).host} (synchronous_commit=${pg.synchronous_commit}, fsync=${pg.fsync}, max_connections=${pg.max_connections})`,
  );
  if (ensureBuild(log)) log('built');

  const failures = [];
  const summary = [];
  for (const name of selected) {
    const started = performance.now();
    log(`=== ${name} ===`);
    try {
      if (!(await checkpoint()))
        log("CHECKPOINT not allowed for this role: earlier benchmarks' writes may still be flushing");
      const bench = require(`./benchmarks/${name}`);
      const out = await bench.run({ log: (m) => log(`${name}: ${m}`), profile });
      const seconds = (performance.now() - started) / 1000;
      const server = process.env.BENCH_SERVER_MAIN
        ? `; server build ${process.env.BENCH_SERVER_MAIN} (BENCH_SERVER_MAIN)`
        : '';
      const extra = `Postgres ${pg.server_version} (synchronous_commit=${pg.synchronous_commit}); this benchmark took ${seconds.toFixed(0)} s${server}${profile ? '; Ensemble ran with --cpu-prof (figures are slower than without)' : ''}`;
      console.log(`\n## ${out.title}\n\n${out.method}\n\n${out.body}\n`);
      let body = out.body;
      if (profile && out.profileDir) {
        const summary = summarizeDir(out.profileDir, 25, out.skipMs ?? 0);
        console.log(summary);
        body += `\n\n### CPU profile of Ensemble (top self time)\n\n${summary}`;
      }
      appendSection(out.title, { method: out.method, body, extra });
      for (const [b, figure, result] of out.bars ?? []) summary.push([name, b, figure, result]);
      log(`${name} done in ${seconds.toFixed(1)} s`);
    } catch (e) {
      failures.push(name);
      console.error(`${name} failed: ${e.stack || e}`);
    }
  }
  const total = (performance.now() - t0) / 1000;
  if (summary.length) {
    const text = table(['benchmark', 'bar', 'figure', 'result'], summary);
    console.log(`\n## Bars\n\n${text}\n`);
    appendSection(`Summary of bars (${selected.join(', ')})`, {
      method: `\`npm run bench${names.length ? ` -- ${args.join(' ')}` : ''}\` took ${total.toFixed(0)} s in all${failures.length ? `; failed: ${failures.join(', ')}` : ''}.`,
      body: text,
    });
  }
  log(`all done in ${total.toFixed(1)} s; results appended to ${RESULTS}`);
  if (failures.length) {
    console.error(`failed: ${failures.join(', ')}`);
    process.exitCode = 1;
  }
}

let stopping = false;
async function cleanup() {
  if (stopping) return;
  stopping = true;
  await stopAll();
  await dropAll();
}

process.on('SIGINT', () => cleanup().finally(() => process.exit(130)));
process.on('SIGTERM', () => cleanup().finally(() => process.exit(143)));
main()
  .catch((e) => {
    console.error(e.stack || e);
    process.exitCode = 1;
  })
  .finally(cleanup);
