'use strict';
/**
 * Benchmark 6 — stalled readers. 50 clients open a chat_normal stream with
 * `incremental: false` (every chunk carries the whole reply so far) on a
 * 4,000-word reply and never read a byte of it (raw sockets, paused). Beside
 * them, normal 20-token streams run at 8 concurrent, as in a run without the
 * stalled clients just before. Reports Ensemble's JS heap (nodejs_heap_size_used_bytes
 * from GET /api/metrics: idle, peak while the stalled clients are held) and
 * the normal streams' TTFT/TTLT p50 without and with them; then waits for
 * SSE_STALL_TIMEOUT_MS to cancel the stalled streams (their connections
 * are closed by the server) and checks the upstream calls were closed too.
 */
const net = require('node:net');
const { makeAgent, runConcurrent, stream, summary, performance } = require('../lib/client');
const { startStack, streamTargets, AUTH } = require('../lib/stack');
const { table, bar } = require('../lib/report');
const { cpuMs, httpGet, sleep } = require('../lib/procs');

const STALLED = 50;
const WORDS = 4000;
const NORMAL = 200;
const CONCURRENCY = 8;
const STALL_MS = 40_000;

function metric(metricsText, name) {
  const m = new RegExp(`^${name.replace(/[{}"=]/g, '\\$&')} ([0-9.eE+-]+)`, 'm').exec(metricsText);
  return m ? Number(m[1]) : 0;
}

function figures(metricsText) {
  return {
    heap: metric(metricsText, 'nodejs_heap_size_used_bytes'),
    open: metric(metricsText, 'ensemble_open_streams'),
    cancelled: metric(metricsText, 'ensemble_chat_runs_total{mode="chat_normal",outcome="cancelled"}'),
    complete: metric(metricsText, 'ensemble_chat_runs_total{mode="chat_normal",outcome="complete"}'),
  };
}

/** Waits until each process uses under 10% of a core over half a second (at most `maxMs`); returns the wait. */
async function quiet(pids, maxMs) {
  const t0 = performance.now();
  for (;;) {
    const before = pids.map(cpuMs);
    await sleep(500);
    const busy = pids.some((pid, i) => cpuMs(pid) - before[i] >= 50);
    if (!busy || performance.now() - t0 > maxMs) return performance.now() - t0;
  }
}

/** A client that sends its request, takes the response's first bytes and then reads nothing. */
function stalledClient(port) {
  const body = JSON.stringify({
    model: 'fake-gpt',
    messages: 'LONG REPLY please',
    stream: true,
    incremental: false,
  });
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(
        `POST /api/v2/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH.authorization}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      ),
    );
    const client = { socket, status: 0 };
    socket.once('data', (chunk) => {
      client.status = Number(/^HTTP\/1\.1 (\d+)/.exec(chunk.toString('latin1'))?.[1] ?? 0);
      socket.pause();
      resolve(client);
    });
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(client));
  });
}

async function normalStreams(target) {
  const agent = makeAgent(CONCURRENCY);
  const { results } = await runConcurrent({
    concurrency: CONCURRENCY,
    total: NORMAL,
    maxMs: 60_000,
    fn: () => stream({ ...target, agent }),
  });
  agent.destroy();
  return summary(results);
}

async function run({ log, profile }) {
  const stack = await startStack('stalled', {
    proxy: false,
    profile,
    env: { SSE_STALL_TIMEOUT_MS: String(STALL_MS) },
  });
  try {
    stack.markMeasured();
    const ens = stack.ensemble;
    const scrape = async () => figures((await httpGet(ens.port, '/api/metrics', AUTH)).body);
    await stack.fakeCtl.config({ tokens: 20, tokenDelayMs: 1, firstTokenDelayMs: 5, longTokens: WORDS });
    const target = streamTargets(stack).ensemble;
    await normalStreams(target); // warm-up
    const idle = await scrape();
    log(`normal streams alone (${NORMAL} at ${CONCURRENCY} concurrent)`);
    const alone = await normalStreams(target);

    log(`opening ${STALLED} stalled clients`);
    const t0 = performance.now();
    const clients = await Promise.all(Array.from({ length: STALLED }, () => stalledClient(ens.port)));
    let peak = idle.heap;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await scrape()).heap);
        await sleep(250);
      }
    })();
    // Until their socket buffers are full and their runs paused, and the fake upstream wrote their replies
    // (it does not wait for its sockets to drain): both idle again.
    const settledMs = await quiet([ens.pid, stack.fake.pid], 30_000);
    log(`stalled clients settled after ${(settledMs / 1000).toFixed(1)} s; normal streams beside them`);
    const beside = await normalStreams(target);
    const held = await scrape();
    log(`waiting for the stall timeout (${STALL_MS / 1000} s)`);
    let end = held;
    while (end.open > 0 && performance.now() - t0 < STALL_MS + 30_000) {
      await sleep(250);
      end = await scrape();
    }
    const endedAfterS = (performance.now() - t0) / 1000;
    sampling = false;
    await sampler;
    await sleep(500);
    const fakeStats = await stack.fakeCtl.stats();
    for (const c of clients) c.socket.destroy();
    const cancelled = end.cancelled - idle.cancelled;
    // Runs completed since the idle scrape, less the normal streams'.
    const completed = end.complete - idle.complete - (alone.n - alone.errors) - (beside.n - beside.errors);
    const growthMiB = (peak - idle.heap) / 2 ** 20;
    const ratio = beside.ttlt50 / alone.ttlt50;
    const rows = [
      ['alone', alone.n, alone.errors, alone.ttft50, alone.ttlt50, alone.ttlt99],
      [`beside ${STALLED} stalled`, beside.n, beside.errors, beside.ttft50, beside.ttlt50, beside.ttlt99],
    ];
    const body = [
      table(['normal streams', 'n', 'errors', 'TTFT p50 ms', 'TTLT p50 ms', 'TTLT p99 ms'], rows),
      '',
      table(
        [
          'heap idle MiB',
          'heap peak MiB',
          'heap growth MiB',
          'heap beside them MiB',
          'stalled 200',
          'settled after s',
          'cancelled (stall)',
          'complete (fit in socket buffers)',
          'streams open at the end',
          'ended after s',
          'upstream calls open',
        ],
        [
          [
            idle.heap / 2 ** 20,
            peak / 2 ** 20,
            growthMiB,
            held.heap / 2 ** 20,
            clients.filter((c) => c.status === 200).length,
            settledMs / 1000,
            cancelled,
            completed,
            end.open,
            endedAfterS,
            fakeStats.open,
          ],
        ],
      ),
    ].join('\n');
    const bars = [
      ['heap growth with 50 stalled readers ≤ 50 MB', `${growthMiB.toFixed(1)} MiB`, bar(growthMiB <= 50)],
      [
        'normal TTLT p50 within 20% beside stalled readers',
        `${alone.ttlt50.toFixed(1)} → ${beside.ttlt50.toFixed(1)} ms (×${ratio.toFixed(2)})`,
        bar(ratio <= 1.2),
      ],
      [
        'every stalled stream ended (cancelled after SSE_STALL_TIMEOUT_MS or complete), upstream closed',
        `${cancelled} cancelled + ${completed} complete of ${STALLED}, ${end.open} open, ${fakeStats.open} upstream open`,
        bar(cancelled + completed === STALLED && end.open === 0 && fakeStats.open === 0),
      ],
    ];
    return {
      title: 'Stalled readers (50 clients that never read a 4,000-word incremental: false reply)',
      method:
        `${STALLED} raw-socket clients each open a chat_normal stream with \`incremental: false\` on a ${WORDS}-word reply ` +
        `(upstream 1 ms between words) and never read after the first bytes. Normal streams (20 tokens, 5 ms to the first, ` +
        `1 ms apart) run ${NORMAL} at ${CONCURRENCY} concurrent, first alone, then beside the stalled clients ` +
        `once Ensemble and the fake upstream are idle again: their buffers full, their runs paused). Heap = \`nodejs_heap_size_used_bytes\` of Ensemble, sampled every 250 ms. ` +
        `SSE_STALL_TIMEOUT_MS=${STALL_MS}.`,
      body,
      bars,
      profileDir: stack.profileDir,
      skipMs: stack.skipMs,
    };
  } finally {
    await stack.stop();
  }
}

module.exports = { run };
