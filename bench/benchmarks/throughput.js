'use strict';
/**
 * Benchmark 2 — throughput. Content chunks per second delivered to clients
 * with an instant upstream (the whole reply in one write), at 64 and 256
 * concurrent streams: direct, through the minimal proxy, through Ensemble.
 * Phases back to back, two rounds in alternating order; CPU time of each
 * process per phase from /proc.
 */
const { makeAgent, stream, runConcurrent, summary } = require('../lib/client');
const { startStack, streamTargets } = require('../lib/stack');
const { table, bar } = require('../lib/report');
const { cpuMs, selfCpuMs } = require('../lib/procs');

const TOKENS = 256;
const LEVELS = [64, 256];
const ROUNDS = 2;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS || 4000);

async function run({ log, profile }) {
  const stack = await startStack('throughput', { profile });
  try {
    await stack.fakeCtl.config({
      tokens: TOKENS,
      tokenText: 'tok ',
      firstTokenDelayMs: 0,
      tokenDelayMs: 0,
      hold: false,
    });
    const targets = streamTargets(stack);
    const order = [targets.direct, targets.proxy, targets.ensemble];
    const pids = { direct: undefined, proxy: stack.proxy.pid, ensemble: stack.ensemble.pid };
    const one = (t, agent) => stream({ port: t.port, path: t.path, headers: t.headers, body: t.body, agent });

    log('warm-up');
    stack.markMeasured();
    for (const t of order) {
      const agent = makeAgent(64);
      await runConcurrent({ concurrency: 64, total: 256, maxMs: 8000, fn: () => one(t, agent) });
      agent.destroy();
    }

    const acc = {};
    for (const c of LEVELS) {
      for (let r = 0; r < ROUNDS; r++) {
        const seq = r % 2 === 0 ? order : [...order].reverse();
        for (const t of seq) {
          log(`${c} concurrent, round ${r + 1}: ${t.name}`);
          const agent = makeAgent(c);
          const cpu0 = {
            fake: cpuMs(stack.fake.pid),
            mid: pids[t.name] ? cpuMs(pids[t.name]) : 0,
            client: selfCpuMs(),
          };
          const out = await runConcurrent({ concurrency: c, total: c * 400, maxMs: PHASE_MS, fn: () => one(t, agent) });
          const cpu1 = {
            fake: cpuMs(stack.fake.pid),
            mid: pids[t.name] ? cpuMs(pids[t.name]) : 0,
            client: selfCpuMs(),
          };
          agent.destroy();
          const key = `${c}|${t.name}`;
          const a = (acc[key] ??= { c, name: t.name, results: [], wallMs: 0, fakeCpu: 0, midCpu: 0, clientCpu: 0 });
          a.results.push(...out.results);
          a.wallMs += out.wallMs;
          a.fakeCpu += cpu1.fake - cpu0.fake;
          a.midCpu += cpu1.mid - cpu0.mid;
          a.clientCpu += cpu1.client - cpu0.client;
        }
      }
    }
    const rows = [];
    const rates = {};
    let errors = 0;
    let firstError;
    for (const a of Object.values(acc)) {
      const s = summary(a.results);
      errors += s.errors;
      firstError ??= s.firstError;
      const rate = s.chunks / (a.wallMs / 1000);
      rates[`${a.c}|${a.name}`] = rate;
      rows.push([
        a.c,
        a.name,
        s.n,
        s.errors,
        Math.round(rate),
        (s.n / (a.wallMs / 1000)).toFixed(1),
        a.name === 'direct' ? '–' : ((a.midCpu / s.chunks) * 1000).toFixed(1),
        ((a.fakeCpu / s.chunks) * 1000).toFixed(1),
        ((a.clientCpu / s.chunks) * 1000).toFixed(1),
        s.ttlt50,
      ]);
    }
    const bars = LEVELS.map((c) => {
      const ratio = rates[`${c}|ensemble`] / rates[`${c}|proxy`];
      return [
        `${c} concurrent: Ensemble ≥ 70% of proxy`,
        `${Math.round(rates[`${c}|ensemble`])} vs ${Math.round(rates[`${c}|proxy`])} chunks/s = ${(ratio * 100).toFixed(0)}% (direct ${Math.round(rates[`${c}|direct`])})`,
        bar(ratio >= 0.7),
      ];
    });
    bars.push(['errors', String(errors) + (firstError ? ` (first: ${firstError})` : ''), bar(errors === 0)]);
    const body = [
      table(
        [
          'concurrent',
          'path',
          'streams',
          'errors',
          'chunks/s',
          'streams/s',
          'relay CPU µs/chunk',
          'fake CPU µs/chunk',
          'client CPU µs/chunk',
          'TTLT p50 ms',
        ],
        rows,
      ),
      '',
      '### Bars',
      '',
      table(['bar', 'figure', 'result'], bars),
    ].join('\n');
    const method = `Method: instant upstream (the fake writes all ${TOKENS} content chunks of a reply, finish, usage and [DONE] in one write); chat_normal streams as in benchmark 1. Per level: ${ROUNDS} rounds (direct→proxy→Ensemble, then reversed), each phase ${PHASE_MS / 1000} s (bounded also by ${'c×400'} streams), new keep-alive agent per phase; warm-up 256 streams at 64 per target. chunks/s = content chunks received by the client / phase wall time. CPU per chunk from /proc/<pid>/stat (utime+stime) of the relay (proxy or Ensemble), the fake, and the client process.`;
    return {
      title: 'Benchmark 2: throughput (instant upstream)',
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

module.exports = { name: 'throughput', run };
