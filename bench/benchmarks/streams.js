'use strict';
/**
 * Benchmark 4 — open streams. N concurrent chat_normal streams held open on a
 * slow upstream (one token per second until released) through the minimal
 * proxy and through Ensemble, N = 1,000 and 5,000. Reports errors (any
 * stream without [DONE], a non-200, an error frame), RSS per open stream
 * ((RSS with N open − RSS idle) / N, VmRSS from /proc/<pid>/status) and
 * event-loop delay: the latency of a probe request during the hold vs idle
 * (GET /api/health on Ensemble; GET /v1/models through the proxy), and
 * Ensemble's own nodejs_eventloop_lag_* gauges from GET /api/metrics
 * (prom-client's monitorEventLoopDelay, reset at each scrape) over the hold.
 * Each relay is started fresh for each N.
 */
const { makeAgent, stream, percentile, median, performance } = require('../lib/client');
const { startStack, streamTargets, AUTH } = require('../lib/stack');
const { table, bar } = require('../lib/report');
const { startProxy, rssKiB, httpGet, sleep } = require('../lib/procs');

const LEVELS = (process.env.BENCH_STREAMS || '1000,5000').split(',').map(Number);
const OPENING = 250; // streams being opened at once (not yet at their first token)
const PROBES = 15;
/** Opening stops after this long (the run must stay bounded); streams not open by then count as not held. */
const OPEN_BOUND_MS = 120_000;

async function probe(port, path, headers, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await httpGet(port, path, headers);
    if (r.status !== 200) throw new Error(`probe ${path}: ${r.status}`);
    times.push(performance.now() - t0);
    await sleep(50);
  }
  return { p50: median(times), max: Math.max(...times) };
}

async function sampleRss(pid, n = 5, gap = 200) {
  const v = [];
  for (let i = 0; i < n; i++) {
    v.push(rssKiB(pid));
    await sleep(gap);
  }
  return median(v);
}

function lag(metricsText) {
  const get = (name) => {
    const m = new RegExp(`^${name} ([0-9.eE+-]+)`, 'm').exec(metricsText);
    return m ? Number(m[1]) * 1000 : NaN;
  };
  return {
    p50: get('nodejs_eventloop_lag_p50_seconds'),
    p99: get('nodejs_eventloop_lag_p99_seconds'),
    max: get('nodejs_eventloop_lag_max_seconds'),
    heapKiB: get('nodejs_heap_size_used_bytes') / 1024 / 1000,
  };
}

/** Holds n streams on `target`, measures, releases; returns the figures. */
async function hold({ stack, target, pid, n, log, probeFn, metrics }) {
  await stack.fakeCtl.config({ hold: true, tokenDelayMs: 1000, firstTokenDelayMs: 0, maxHoldMs: 180_000 });
  // warm-up: a few streams end to end, so the idle figure includes loaded code and pools
  {
    const agent = makeAgent(16);
    const warm = [];
    for (let i = 0; i < 16; i++) warm.push(stream({ ...target, agent }));
    await sleep(1500);
    await stack.fakeCtl.release();
    await Promise.all(warm);
    agent.destroy();
    await stack.fakeCtl.config({ hold: true });
  }
  await sleep(1000);
  const idleRss = await sampleRss(pid);
  const idleProbe = await probeFn(PROBES);
  const idleMetrics = metrics ? await metrics() : undefined;

  log(`${target.name}: opening ${n} streams`);
  const agent = makeAgent(n);
  const t0 = performance.now();
  let firsts = 0;
  let opening = 0;
  const wakeups = [];
  const onFirst = () => {
    firsts++;
    opening--;
    wakeups.splice(0).forEach((w) => w());
  };
  const all = [];
  for (let i = 0; i < n; i++) {
    while (opening >= OPENING) await new Promise((r) => wakeups.push(r));
    opening++;
    const p = stream({ ...target, agent, onFirst, timeoutMs: 200_000 }).then((r) => {
      if (!Number.isFinite(r.ttft)) {
        opening--;
        wakeups.splice(0).forEach((w) => w());
      }
      return r;
    });
    all.push(p);
    if (performance.now() - t0 > OPEN_BOUND_MS) break;
  }
  while (firsts < all.length && performance.now() - t0 < OPEN_BOUND_MS + 10_000) {
    const settled = await Promise.race([Promise.all(all).then(() => true), sleep(200).then(() => false)]);
    if (settled) break;
  }
  const rampMs = performance.now() - t0;
  const openNow = firsts;
  log(`${target.name}: ${openNow}/${n} open after ${(rampMs / 1000).toFixed(1)} s; holding`);
  await sleep(1500);
  const heldRss = await sampleRss(pid, 5, 300);
  const heldProbe = await probeFn(PROBES);
  const loopLag = metrics ? await metrics() : undefined;
  const fakeStats = await stack.fakeCtl.stats();
  const releasedAt = performance.now();
  await stack.fakeCtl.release();
  const results = await Promise.all(all);
  const drainMs = performance.now() - releasedAt;
  agent.destroy();
  await stack.fakeCtl.config({ hold: false });
  const errors = results.filter((r) => !r.ok);
  return {
    target: target.name,
    n,
    opened: openNow,
    errors: errors.length,
    notStarted: n - all.length,
    firstError: errors[0]?.error,
    rampMs,
    drainMs,
    upstreamOpen: fakeStats.held,
    idleRss,
    heldRss,
    // Per stream held: on a loaded machine not all N may be open by the bound.
    perStreamKiB: (heldRss - idleRss) / Math.max(openNow, 1),
    idleProbe,
    heldProbe,
    loopLag,
    heapPerStreamKiB: loopLag && idleMetrics ? (loopLag.heapKiB - idleMetrics.heapKiB) / Math.max(openNow, 1) : NaN,
    ttft50: percentile(
      results.map((r) => r.ttft),
      50,
    ),
  };
}

async function run({ log, profile }) {
  const figures = [];
  for (const n of LEVELS) {
    // A fresh stack per N: both relays start from the same idle state.
    const stack = await startStack(`streams${n}`, { proxy: false, profile });
    try {
      const proxy = await startProxy(stack.fake.port);
      try {
        stack.proxy = proxy;
        const targets = streamTargets(stack);
        figures.push(
          await hold({
            stack,
            target: targets.proxy,
            pid: proxy.pid,
            n,
            log,
            probeFn: (k) => probe(proxy.port, '/v1/models', {}, k),
          }),
        );
      } finally {
        await proxy.stop();
      }
      const ens = stack.ensemble;
      figures.push(
        await hold({
          stack,
          target: streamTargets(stack).ensemble,
          pid: ens.pid,
          n,
          log,
          probeFn: (k) => probe(ens.port, '/api/health', {}, k),
          metrics: async () => lag((await httpGet(ens.port, '/api/metrics', AUTH)).body),
        }),
      );
    } finally {
      await stack.stop();
    }
  }
  const rows = figures.map((f) => [
    f.n,
    f.target,
    `${f.opened}/${f.n}${f.notStarted ? ` (${f.notStarted} not started within ${OPEN_BOUND_MS / 1000} s)` : ''}`,
    f.errors,
    (f.rampMs / 1000).toFixed(1),
    (f.idleRss / 1024).toFixed(0),
    (f.heldRss / 1024).toFixed(0),
    f.perStreamKiB.toFixed(1),
    Number.isFinite(f.heapPerStreamKiB) ? f.heapPerStreamKiB.toFixed(1) : '–',
    `${f.idleProbe.p50.toFixed(2)} / ${f.heldProbe.p50.toFixed(2)} (max ${f.heldProbe.max.toFixed(1)})`,
    f.loopLag ? `${f.loopLag.p50.toFixed(1)} / ${f.loopLag.p99.toFixed(1)} / ${f.loopLag.max.toFixed(1)}` : '–',
    (f.drainMs / 1000).toFixed(1),
  ]);
  const e5000 = figures.find((f) => f.target === 'ensemble' && f.n === Math.max(...LEVELS));
  const worst = Math.max(...figures.filter((f) => f.target === 'ensemble').map((f) => f.perStreamKiB));
  const errors = figures.reduce((s, f) => s + f.errors, 0);
  const bars = [
    [
      `${e5000?.n ?? '?'} streams held by Ensemble, 0 errors`,
      `${e5000?.opened}/${e5000?.n} open, ${e5000?.errors} errors${e5000?.firstError ? ` (first: ${e5000.firstError})` : ''}`,
      bar(e5000 && e5000.opened === e5000.n && e5000.errors === 0 && e5000.n >= 5000),
    ],
    [
      '≤ 64 KB RSS per open stream (Ensemble)',
      `${worst.toFixed(1)} KiB (proxy ${Math.max(...figures.filter((f) => f.target === 'proxy').map((f) => f.perStreamKiB)).toFixed(1)} KiB)`,
      bar(worst <= 64),
    ],
    [
      'errors (all)',
      String(errors) +
        (figures.find((f) => f.firstError)?.firstError
          ? ` (first: ${figures.find((f) => f.firstError).firstError})`
          : ''),
      bar(errors === 0),
    ],
  ];
  const body = [
    table(
      [
        'N',
        'path',
        'open',
        'errors',
        'ramp s',
        'RSS idle MiB',
        'RSS held MiB',
        'RSS KiB/stream',
        'JS heap used KiB/stream',
        'probe p50 ms idle / held',
        'loop lag p50/p99/max ms (held)',
        'drain s',
      ],
      rows,
    ),
    '',
    '### Bars',
    '',
    table(['bar', 'figure', 'result'], bars),
  ].join('\n');
  const method = `Method: the fake sends a role chunk and one token at once, then one token per second per stream until the benchmark releases them (then finish, usage, [DONE]; bounded at 180 s). For each N a fresh fake, proxy and Ensemble (fresh database); each relay is warmed with 16 streams, then idle RSS is the median of 5 VmRSS samples; the client opens N streams over keep-alive sockets with at most ${OPENING} waiting for their first token at a time, waits until all N got a token (opening stops after ${OPEN_BOUND_MS / 1000} s: the run stays bounded), waits 1.5 s, takes the held RSS (median of 5 samples 300 ms apart), runs ${PROBES} sequential probes 50 ms apart, then releases all and waits for every [DONE]. RSS/stream = (held − idle)/streams open (N unless opening hit its bound; includes both sockets of the relay and, for Ensemble, the upstream request state, rxjs pipeline, run recorder); for Ensemble also the growth of V8's used heap (nodejs_heap_size_used_bytes from /api/metrics) per stream, which includes garbage not yet collected. Event-loop delay: probe request latency (new connection each, GET /api/health on Ensemble, GET /v1/models via the proxy, which includes the fake) idle vs held; for Ensemble also prom-client's nodejs_eventloop_lag p50/p99/max gauges from /api/metrics (its monitorEventLoopDelay histogram is reset at each scrape, so this covers the hold: ramp to release). ulimit -n ${require('node:child_process').execSync('sh -c "ulimit -n"').toString().trim()}.`;
  return { title: 'Benchmark 4: open streams (slow upstream)', method, body, bars };
}

module.exports = { name: 'streams', run };
