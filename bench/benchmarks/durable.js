'use strict';
/**
 * Durable runs (background: true). Two Ensemble replicas (A, B) on one
 * database.
 *   1. throughput: chat_normal streams with an instant upstream (256 tokens
 *      in one write), foreground vs background (the POSTing client follows
 *      the run's stored stream), 64 concurrent on A, 2 rounds alternating.
 *   2. resume: time from a resume request (GET …/{conv_uid}/stream with
 *      Last-Event-ID in the middle of a finished run) to the first replayed
 *      content frame, on the replica that ran it (A) and the other one (B).
 *   3. concurrent: N background runs started on A (202), held open on a
 *      slow upstream (one token per second until released), each followed
 *      on B; errors (a follower without [DONE], a non-200) and RSS per run
 *      on A and per follower on B.
 */
const { makeAgent, stream, runConcurrent, summary, percentile } = require('../lib/client');
const { startStack, AUTH } = require('../lib/stack');
const { table, bar } = require('../lib/report');
const { cpuMs, httpJson, rssKiB, sleep } = require('../lib/procs');

const TOKENS = 256;
const CONCURRENCY = 64;
const ROUNDS = 2;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS || 4000);
const RESUMES = 200;
const RUNS = Number(process.env.BENCH_DURABLE_RUNS || 1000);
/** Runs started at once while ramping up (each is a 202 plus an upstream request). */
const STARTING = 100;

const MESSAGES = [{ role: 'user', content: 'Write a short poem about benchmarks.' }];

async function run({ log, profile }) {
  const stack = await startStack('durable', { proxy: false, profile });
  try {
    const a = stack.ensemble;
    const b = await stack.startEnsemble();
    const body = (extra = {}) => JSON.stringify({ model: 'fake-gpt', messages: MESSAGES, stream: true, ...extra });
    const target = (port, name, extra) => ({
      name,
      port,
      path: '/api/v2/chat/completions',
      headers: AUTH,
      body: body(extra),
    });
    await stack.fakeCtl.config({
      tokens: TOKENS,
      tokenText: 'tok ',
      firstTokenDelayMs: 0,
      tokenDelayMs: 0,
      hold: false,
    });

    // 1. throughput
    const fg = target(a.port, 'foreground', {});
    const bg = target(a.port, 'background', { background: true });
    log('warm-up');
    stack.markMeasured();
    for (const t of [fg, bg]) {
      const agent = makeAgent(CONCURRENCY);
      await runConcurrent({ concurrency: CONCURRENCY, total: 256, maxMs: 8000, fn: () => stream({ ...t, agent }) });
      agent.destroy();
    }
    const acc = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of r % 2 === 0 ? [fg, bg] : [bg, fg]) {
        log(`throughput round ${r + 1}: ${t.name}`);
        const agent = makeAgent(CONCURRENCY);
        const cpu0 = cpuMs(a.pid);
        const out = await runConcurrent({
          concurrency: CONCURRENCY,
          total: CONCURRENCY * 400,
          maxMs: PHASE_MS,
          fn: () => stream({ ...t, agent }),
        });
        const cpu = cpuMs(a.pid) - cpu0;
        agent.destroy();
        const x = (acc[t.name] ??= { results: [], wallMs: 0, cpu: 0 });
        x.results.push(...out.results);
        x.wallMs += out.wallMs;
        x.cpu += cpu;
      }
    }
    const rate = {};
    const throughputRows = Object.entries(acc).map(([name, x]) => {
      const s = summary(x.results);
      rate[name] = s.chunks / (x.wallMs / 1000);
      return [name, s.n, s.errors, Math.round(rate[name]), ((x.cpu / s.chunks) * 1000).toFixed(1), s.ttlt50];
    });
    const throughputErrors = Object.values(acc).reduce((n, x) => n + summary(x.results).errors, 0);

    // 2. resume latency (finished runs, ~260 frames each, resumed from frame 128)
    log('resume: preparing 20 finished background runs');
    const convs = [];
    for (let i = 0; i < 20; i++) {
      const conv = `bench-resume-${i}`;
      const r = await stream({ ...target(a.port, 'prep', { background: true, conv_uid: conv }) });
      if (!r.ok) throw new Error(`prep run failed: ${r.error}`);
      convs.push(conv);
    }
    const resumeTimes = { A: [], B: [] };
    let resumeErrors = 0;
    const resumeAgent = makeAgent(4);
    for (let i = 0; i < RESUMES; i++) {
      const replica = i % 2 === 0 ? 'A' : 'B';
      const r = await stream({
        port: replica === 'A' ? a.port : b.port,
        path: `/api/v2/chat/completions/${convs[i % convs.length]}/stream`,
        method: 'GET',
        headers: { ...AUTH, 'last-event-id': '128' },
        agent: resumeAgent,
      });
      if (!r.ok || r.chunks === 0) resumeErrors++;
      else resumeTimes[replica].push(r.ttft);
    }
    resumeAgent.destroy();
    const resumeRows = Object.entries(resumeTimes).map(([replica, t]) => [
      replica === 'A' ? 'A (ran the run)' : 'B (other replica)',
      t.length,
      percentile(t, 50).toFixed(1),
      percentile(t, 99).toFixed(1),
    ]);
    const resumeP50 = percentile([...resumeTimes.A, ...resumeTimes.B], 50);

    // 3. many concurrent background runs, followed on the other replica
    await stack.fakeCtl.config({ hold: true, tokenDelayMs: 1000, firstTokenDelayMs: 0, maxHoldMs: 240_000 });
    await sleep(1000);
    const idleA = rssKiB(a.pid);
    const idleB = rssKiB(b.pid);
    log(`concurrent: starting ${RUNS} background runs on A`);
    const t0 = Date.now();
    let startErrors = 0;
    const started = [];
    for (let i = 0; i < RUNS; i += STARTING) {
      const batch = [];
      for (let j = i; j < Math.min(RUNS, i + STARTING); j++) {
        const conv = `bench-held-${j}`;
        batch.push(
          httpJson(
            a.port,
            'POST',
            '/api/v2/chat/completions',
            {
              model: 'fake-gpt',
              messages: MESSAGES,
              conv_uid: conv,
              stream: false,
              background: true,
            },
            AUTH,
          ).then(
            (res) => (res.status === 202 ? started.push(conv) : startErrors++),
            () => startErrors++,
          ),
        );
      }
      await Promise.all(batch);
    }
    const startMs = Date.now() - t0;
    log(`concurrent: ${started.length} started in ${(startMs / 1000).toFixed(1)} s; following them on B`);
    const followAgent = makeAgent(RUNS);
    let following = 0;
    const followers = started.map((conv) =>
      stream({
        port: b.port,
        path: `/api/v2/chat/completions/${conv}/stream`,
        method: 'GET',
        headers: AUTH,
        agent: followAgent,
        onFirst: () => following++,
        timeoutMs: 300_000,
      }),
    );
    const until = Date.now() + 60_000;
    while (following < started.length && Date.now() < until) await sleep(250);
    log(`concurrent: ${following}/${started.length} followers have frames; holding`);
    await sleep(3000);
    const heldA = rssKiB(a.pid);
    const heldB = rssKiB(b.pid);
    const cpuA0 = cpuMs(a.pid);
    const cpuB0 = cpuMs(b.pid);
    await sleep(5000);
    const cpuHeldA = (cpuMs(a.pid) - cpuA0) / 5000;
    const cpuHeldB = (cpuMs(b.pid) - cpuB0) / 5000;
    const released = Date.now();
    await stack.fakeCtl.release();
    const results = await Promise.all(followers);
    const drainMs = Date.now() - released;
    followAgent.destroy();
    const followErrors = results.filter((r) => !r.ok);
    const concurrentErrors = startErrors + followErrors.length;

    const throughputRatio = rate.background / rate.foreground;
    const bars = [
      [
        'background ≥ 80% of foreground chunks/s',
        `${Math.round(rate.background)} vs ${Math.round(rate.foreground)} chunks/s = ${(throughputRatio * 100).toFixed(0)}%`,
        bar(throughputRatio >= 0.8),
      ],
      ['resume to first replayed frame p50 ≤ 50 ms', `${resumeP50.toFixed(1)} ms`, bar(resumeP50 <= 50)],
      [
        `${RUNS} concurrent background runs followed on B: no errors`,
        `${started.length} started, ${following} followed, ${concurrentErrors} errors${followErrors[0] ? ` (first: ${followErrors[0].error})` : ''}`,
        bar(concurrentErrors === 0 && started.length === RUNS),
      ],
      [
        'errors (throughput, resume)',
        String(throughputErrors + resumeErrors),
        bar(throughputErrors + resumeErrors === 0),
      ],
    ];
    const body2 = [
      '### Throughput (chat_normal, instant upstream, 64 concurrent on A)',
      '',
      table(['path', 'streams', 'errors', 'chunks/s', 'Ensemble CPU µs/chunk', 'TTLT p50 ms'], throughputRows),
      '',
      '### Resume to first replayed frame (Last-Event-ID: 128 of ~260, finished runs, sequential)',
      '',
      table(['replica', 'resumes', 'p50 ms', 'p99 ms'], resumeRows),
      '',
      `### ${RUNS} concurrent background runs on A, each followed on B`,
      '',
      table(
        ['figure', 'value'],
        [
          ['started (202) / start errors', `${started.length} / ${startErrors} in ${(startMs / 1000).toFixed(1)} s`],
          ['followers with frames', `${following}`],
          ['RSS per run on A (held − idle) / N', `${((heldA - idleA) / RUNS).toFixed(1)} KiB`],
          ['RSS per follower on B (held − idle) / N', `${((heldB - idleB) / RUNS).toFixed(1)} KiB`],
          [
            'CPU while held (1 token/s per run)',
            `A ${(cpuHeldA * 100).toFixed(0)}%, B ${(cpuHeldB * 100).toFixed(0)}% of a core`,
          ],
          ['release → every follower at [DONE]', `${(drainMs / 1000).toFixed(1)} s`],
          ['follower errors', `${followErrors.length}${followErrors[0] ? ` (first: ${followErrors[0].error})` : ''}`],
        ],
      ),
      '',
      '### Bars',
      '',
      table(['bar', 'figure', 'result'], bars),
    ].join('\n');
    const method =
      `Method: two Ensemble processes (A, B) on one database (pool 10 each). Throughput: chat_normal streams of ${TOKENS} tokens from an instant upstream, ` +
      `${CONCURRENCY} concurrent on A, foreground vs \`background: true\` (the client follows the stored stream), ${ROUNDS} rounds alternating, ${PHASE_MS / 1000} s phases after a warm-up; ` +
      `chunks/s = content chunks received / wall time. Resume: ${RESUMES} sequential GET …/stream with Last-Event-ID 128 over 20 finished runs, alternating A and B; ` +
      `time from writing the request to the first content frame. Concurrent: ${RUNS} non-stream background runs started on A (${STARTING} at a time) on an upstream sending one token a second until released, ` +
      `each followed from frame 0 by a GET …/stream on B; RSS from /proc (VmRSS) idle vs held; then released, every follower must reach [DONE].`;
    return { title: 'Durable runs: background vs foreground, resume, concurrent runs', method, body: body2, bars };
  } finally {
    await stack.fakeCtl.config({ hold: false }).catch(() => undefined);
    await stack.stop();
  }
}

module.exports = { name: 'durable', run };
