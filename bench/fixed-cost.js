'use strict';
/**
 * The fixed cost of a request: chat_normal streams of TOKENS (default 1)
 * tokens from an instant upstream, CONCURRENCY (default 32) at a time, in
 * phases of PHASE_MS (default 3000) through the minimal proxy and through
 * Ensemble, alternating; prints CPU per request of each relay from /proc and
 * requests/s. Not one of the five benchmarks and writes nothing to
 * RESULTS.md: a quick A/B tool (point BENCH_SERVER_MAIN at another build).
 *
 *   node bench/fixed-cost.js
 *   BENCH_SERVER_MAIN=/path/to/other/dist/apps/server/src/main.js node bench/fixed-cost.js
 */
const { startStack, streamTargets } = require('./lib/stack');
const { makeAgent, stream, runConcurrent, summary } = require('./lib/client');
const { cpuMs } = require('./lib/procs');

const TOKENS = Number(process.env.TOKENS || 1);
const CONCURRENCY = Number(process.env.CONCURRENCY || 32);
const PHASE_MS = Number(process.env.PHASE_MS || 3000);
const ROUNDS = 3; // the first is warm-up

async function main() {
  const stack = await startStack('fixedcost');
  try {
    await stack.fakeCtl.config({
      tokens: TOKENS,
      tokenText: 'tok ',
      firstTokenDelayMs: 0,
      tokenDelayMs: 0,
      hold: false,
    });
    const targets = streamTargets(stack);
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ['proxy', 'ensemble']) {
        const t = targets[name];
        const pid = name === 'proxy' ? stack.proxy.pid : stack.ensemble.pid;
        const agent = makeAgent(CONCURRENCY);
        const cpu0 = cpuMs(pid);
        const out = await runConcurrent({
          concurrency: CONCURRENCY,
          total: 1_000_000,
          maxMs: PHASE_MS,
          fn: () => stream({ port: t.port, path: t.path, headers: t.headers, body: t.body, agent }),
        });
        const cpu = cpuMs(pid) - cpu0;
        agent.destroy();
        const s = summary(out.results);
        if (round === 0) continue;
        const perReq = ((cpu / s.n) * 1000).toFixed(0);
        console.log(
          `round ${round} ${name.padEnd(8)} ${s.n} requests, ${s.errors} errors, ${(s.n / (out.wallMs / 1000)).toFixed(0)} req/s, CPU ${perReq} µs/request`,
        );
      }
    }
  } finally {
    await stack.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
