'use strict';
/**
 * Benchmark 1 — added latency. chat_normal streamed straight to the fake
 * upstream ("direct"), through the minimal proxy and through Ensemble,
 * sequentially (interleaved request by request) and at 64 and 256 concurrent
 * streams (phases back to back, two rounds in alternating order). TTFT/TTLT
 * p50/p99, each minus direct's.
 */
const { performance } = require('node:perf_hooks');
const { Client } = require('pg');
const { makeAgent, stream, runConcurrent, summary, percentile } = require('../lib/client');
const { startStack, streamTargets } = require('../lib/stack');
const { table, bar } = require('../lib/report');
const { cpuMs } = require('../lib/procs');

const FAKE = { tokens: 20, tokenText: 'tok ', firstTokenDelayMs: 5, tokenDelayMs: 1, hold: false };
const SEQ = 150; // per target
const CONC = [
  { c: 64, perRound: 64 * 4 },
  { c: 256, perRound: 256 * 2 },
];
const ROUNDS = 2;

async function run({ log, profile }) {
  const stack = await startStack('latency', { profile, baseline: true });
  try {
    await stack.fakeCtl.config(FAKE);
    const targets = streamTargets(stack);
    // BENCH_BASELINE_MAIN: a second build, measured in every phase beside this one.
    const order = [targets.direct, targets.proxy, targets.ensemble, ...(targets.baseline ? [targets.baseline] : [])];
    const names = order.map((t) => t.name);
    const relays = names.filter((n) => n !== 'direct');
    const emptyRes = () => Object.fromEntries(names.map((n) => [n, []]));
    const one = (t, agent) => stream({ port: t.port, path: t.path, headers: t.headers, body: t.body, agent });
    const pids = { proxy: stack.proxy.pid, ensemble: stack.ensemble.pid, baseline: stack.baseline?.pid };
    const cpu = {};
    const addCpu = (mode, name, ms) => {
      cpu[mode] ??= {};
      cpu[mode][name] = (cpu[mode][name] ?? 0) + ms;
    };

    // Warm-up (not recorded): JIT, pools, keep-alive sockets.
    log('warm-up');
    stack.markMeasured();
    for (const t of order) {
      const agent = makeAgent(64);
      await runConcurrent({ concurrency: 1, total: 30, maxMs: 10_000, fn: () => one(t, agent) });
      await runConcurrent({ concurrency: 64, total: 128, maxMs: 10_000, fn: () => one(t, agent) });
      agent.destroy();
    }

    // The floor under the end of a stream: Ensemble sends [DONE] once its final write has committed. One one-row
    // INSERT commit on the same Postgres, on a connection of its own left idle as long as a run's (one per rotation).
    const pg = new Client({ connectionString: stack.db.url });
    await pg.connect();
    await pg.query('CREATE TABLE bench_commit_floor (v int)');
    const commitMs = [];
    const timeCommit = async () => {
      const t0 = performance.now();
      await pg.query('INSERT INTO bench_commit_floor VALUES (1)');
      commitMs.push(performance.now() - t0);
    };
    await timeCommit();
    commitMs.length = 0;

    const phases = [];
    log(`sequential: ${SEQ} streams per target, interleaved`);
    {
      const agents = Object.fromEntries(order.map((t) => [t.name, makeAgent(1)]));
      const res = emptyRes();
      // Each relay works only for its own streams, so its CPU over the phase is theirs.
      const c0 = Object.fromEntries(relays.map((n) => [n, cpuMs(pids[n])]));
      for (let i = 0; i < SEQ; i++) {
        // rotate the order so no target always follows another
        for (let k = 0; k < order.length; k++) {
          const t = order[(i + k) % order.length];
          res[t.name].push(await one(t, agents[t.name]));
        }
        await timeCommit();
      }
      await pg.end();
      for (const name of relays) addCpu('sequential', name, cpuMs(pids[name]) - c0[name]);
      Object.values(agents).forEach((a) => a.destroy());
      phases.push({ mode: 'sequential', res });
    }
    for (const { c, perRound } of CONC) {
      log(`${c} concurrent: ${ROUNDS} rounds × ${perRound} streams per target`);
      const res = emptyRes();
      for (let r = 0; r < ROUNDS; r++) {
        const seq = r % 2 === 0 ? order : [...order].reverse();
        for (const t of seq) {
          const agent = makeAgent(c);
          const c0 = pids[t.name] ? cpuMs(pids[t.name]) : 0;
          const out = await runConcurrent({ concurrency: c, total: perRound, maxMs: 30_000, fn: () => one(t, agent) });
          if (pids[t.name]) addCpu(`${c} concurrent`, t.name, cpuMs(pids[t.name]) - c0);
          agent.destroy();
          res[t.name].push(...out.results);
        }
      }
      phases.push({ mode: `${c} concurrent`, res });
    }

    const rows = [];
    const added = [];
    const figures = {};
    for (const { mode, res } of phases) {
      const s = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, summary(v)]));
      figures[mode] = s;
      for (const k of names) {
        rows.push([
          mode,
          k,
          s[k].n,
          s[k].errors,
          s[k].ttft50,
          s[k].ttft99,
          s[k].ttlt50,
          s[k].ttlt99,
          cpu[mode]?.[k] ? (cpu[mode][k] / s[k].n).toFixed(2) : '–',
        ]);
      }
      for (const k of relays) {
        const ttft50 = s[k].ttft50 - s.direct.ttft50;
        const ttlt50 = s[k].ttlt50 - s.direct.ttlt50;
        added.push([
          mode,
          k,
          ttft50,
          s[k].ttft99 - s.direct.ttft99,
          ttlt50,
          s[k].ttlt99 - s.direct.ttlt99,
          (ttlt50 - ttft50).toFixed(2),
        ]);
      }
    }
    const seqAdded = figures.sequential.ensemble.ttft50 - figures.sequential.direct.ttft50;
    const c64 = figures['64 concurrent'];
    const proxyAdded64 = c64.proxy.ttft50 - c64.direct.ttft50;
    const ensAdded64 = c64.ensemble.ttft50 - c64.direct.ttft50;
    const ratio64 = ensAdded64 / proxyAdded64;
    const seqGap = figures.sequential.ensemble.ttlt50 - figures.sequential.direct.ttlt50 - seqAdded;
    const commit50 = percentile(commitMs, 50);
    const commit90 = percentile(commitMs, 90);
    const errors = Object.values(figures).reduce((s, f) => s + names.reduce((e, n) => e + f[n].errors, 0), 0);
    const firstError = Object.values(figures)
      .flatMap((f) => names.map((n) => f[n]))
      .find((x) => x.firstError)?.firstError;

    const bars = [
      [
        'sequential: Ensemble added TTFT p50 ≤ 1 ms',
        `${seqAdded.toFixed(2)} ms (proxy ${(figures.sequential.proxy.ttft50 - figures.sequential.direct.ttft50).toFixed(2)} ms)`,
        bar(seqAdded <= 1),
      ],
      [
        '64 concurrent: Ensemble added TTFT p50 ≤ 1.5× proxy',
        `${ensAdded64.toFixed(2)} ms vs ${proxyAdded64.toFixed(2)} ms = ${ratio64.toFixed(2)}×`,
        bar(ratio64 <= 1.5 || ensAdded64 <= proxyAdded64),
      ],
      [
        'sequential: Ensemble added TTLT − added TTFT p50 ≤ 1 ms ([DONE] after the rows are durable)',
        `${seqGap.toFixed(2)} ms; one-row commit alone ${commit50.toFixed(2)} ms p50`,
        bar(seqGap <= 1),
      ],
      ['errors', String(errors) + (firstError ? ` (first: ${firstError})` : ''), bar(errors === 0)],
    ];
    const body = [
      '### Measured (ms)',
      '',
      table(
        ['mode', 'path', 'streams', 'errors', 'TTFT p50', 'TTFT p99', 'TTLT p50', 'TTLT p99', 'relay CPU ms/stream'],
        rows,
      ),
      '',
      '### Added over direct (ms)',
      '',
      table(['mode', 'path', '+TTFT p50', '+TTFT p99', '+TTLT p50', '+TTLT p99', '+TTLT − +TTFT p50'], added),
      '',
      '### The floor under the end of a stream (sequential phase)',
      '',
      table(
        ['figure', 'p50 ms', 'p90 ms'],
        [
          ['one-row INSERT commit, own connection, once per rotation', commit50.toFixed(2), commit90.toFixed(2)],
          ['Ensemble: added TTLT − added TTFT', seqGap.toFixed(2), '–'],
          ['of which beyond one commit', (seqGap - commit50).toFixed(2), '–'],
        ],
      ),
      '',
      '### Bars',
      '',
      table(['bar', 'figure', 'result'], bars),
    ].join('\n');
    const method = `Method: fake upstream replies ${FAKE.tokens} tokens, ${FAKE.firstTokenDelayMs} ms before the first, ${FAKE.tokenDelayMs} ms between tokens (timer-driven, so direct TTLT includes timer granularity). Requests: chat_normal, \`stream: true\`, \`stream_options.include_usage\`, one user message; Ensemble gets \`model: fake-gpt\` and an API key, a new conversation per request (its default). Warm-up 30 sequential + 128 at 64 concurrent per target, not recorded. Sequential: ${SEQ} streams per target, interleaved one by one (rotating order). Concurrent: ${ROUNDS} rounds per level (order direct→proxy→Ensemble, then reversed), ${CONC.map((x) => `${x.perRound} streams at ${x.c}`).join(', ')} per round and target; keep-alive agent with as many sockets as streams. Commit floor: after each sequential rotation, one one-row \`INSERT\` on a connection of the benchmark's own to Ensemble's database (idle for the rotation before, about four streams: a run's connection is idle for about one stream between its first and last write), timed by the client.${stack.baseline ? ` "baseline": the build ${process.env.BENCH_BASELINE_MAIN} (BENCH_BASELINE_MAIN), its own process and database, measured in every phase beside Ensemble (sequential: one more stream in the rotation; concurrent: one more phase per round, reversed in the second).` : ''}`;
    return {
      title: 'Benchmark 1: added latency (chat_normal stream)',
      method,
      body,
      profileDir: stack.profileDir,
      skipMs: stack.skipMs,
      bars,
    };
  } finally {
    await stack.stop();
  }
}

module.exports = { name: 'latency', run };
