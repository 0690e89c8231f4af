'use strict';
/**
 * The fixed cost of a request: chat_normal streams of TOKENS (default 1)
 * tokens from the fake upstream (TOKEN_DELAY_MS apart, default 0: at once),
 * CONCURRENCY (default 32) at a time, in phases of PHASE_MS (default 3000)
 * through the minimal proxy and through Ensemble, alternating; prints CPU
 * per request of each relay from /proc and requests/s. With
 * BENCH_BASELINE_MAIN, that build runs beside as a third target of every
 * round (its own database), so two builds are compared under the same load
 * rather than in runs minutes apart. ROUNDS (default 5) rounds, the first
 * warm-up; the order of the targets turns each round. Not one of the five
 * benchmarks and writes nothing to RESULTS.md: a quick A/B tool.
 *
 *   node bench/fixed-cost.js
 *   BENCH_BASELINE_MAIN=/path/to/other/dist/apps/server/src/main.js node bench/fixed-cost.js
 *   TOKENS=20 TOKEN_DELAY_MS=1 CONCURRENCY=64 BENCH_BASELINE_MAIN=… node bench/fixed-cost.js   # one upstream read per token
 */
const { startStack, streamTargets } = require('./lib/stack');
const { makeAgent, stream, runConcurrent, summary, median } = require('./lib/client');
const { cpuMs } = require('./lib/procs');

const TOKENS = Number(process.env.TOKENS || 1);
const CONCURRENCY = Number(process.env.CONCURRENCY || 32);
const TOKEN_DELAY_MS = Number(process.env.TOKEN_DELAY_MS || 0);
const PHASE_MS = Number(process.env.PHASE_MS || 3000);
const ROUNDS = Number(process.env.ROUNDS || 5); // the first is warm-up

async function main() {
  const stack = await startStack('fixedcost', { baseline: true });
  try {
    await stack.fakeCtl.config({
      tokens: TOKENS,
      tokenText: 'tok ',
      firstTokenDelayMs: 0,
      tokenDelayMs: TOKEN_DELAY_MS,
      hold: false,
    });
    const targets = streamTargets(stack);
    const names = ['proxy', 'ensemble', ...(stack.baseline ? ['baseline'] : [])];
    const perRequest = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(round + k) % names.length];
        const t = targets[name];
        const pid = stack[name].pid;
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
        const perReq = (cpu / s.n) * 1000;
        perRequest[name].push(perReq);
        console.log(
          `round ${round} ${name.padEnd(8)} ${s.n} requests, ${s.errors} errors, ${(s.n / (out.wallMs / 1000)).toFixed(0)} req/s, CPU ${perReq.toFixed(0)} µs/request`,
        );
      }
    }
    const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
    for (const name of names) console.log(`${name.padEnd(8)} mean CPU ${mean(perRequest[name]).toFixed(0)} µs/request`);
    if (stack.baseline) {
      // Both builds run in every round: the ratio within a round moves less with the machine's drift than the means.
      const ratios = perRequest.ensemble.map((v, i) => v / perRequest.baseline[i]).sort((a, b) => a - b);
      console.log(
        `ensemble / baseline: ${(mean(perRequest.ensemble) / mean(perRequest.baseline)).toFixed(3)} of the means, ` +
          `${median(ratios).toFixed(3)} the median of the rounds' ratios (${ratios.map((r) => r.toFixed(2)).join(' ')})`,
      );
    }
  } finally {
    await stack.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
