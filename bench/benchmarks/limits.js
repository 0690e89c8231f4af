'use strict';
/**
 * What the shared limiter adds per request. One server, two stored keys
 * interleaved one by one so both see the same machine: one with
 * `rate_limit_per_minute: 0` (not limited: no limiter work at all) and one
 * with a limit it never reaches (every request is one upsert in Postgres).
 * GET /api/v2/models, the cheapest guarded route, one request at a time on
 * one keep-alive connection each, then autocannon. Then chat runs
 * (non-stream, 16-token fake reply) of a key with `max_concurrent_runs: 0`
 * against one with a cap it never reaches (a slot taken and given back per
 * run), both without a rate limit. For reference, the in-memory storage the
 * limiter replaced (@nestjs/throttler's ThrottlerStorageService) is timed
 * in this process: its per-request cost is what "not limited" lacks of an
 * in-memory limiter.
 */
const http = require('node:http');
const autocannon = require('autocannon');
const { ThrottlerStorageService } = require('@nestjs/throttler');
const { startStack, AUTH } = require('../lib/stack');
const { table } = require('../lib/report');
const { httpJson } = require('../lib/procs');
const { percentile, performance } = require('../lib/client');

const SEQUENTIAL = Number(process.env.BENCH_LIMITS_REQUESTS || 3000);
const RUNS = Number(process.env.BENCH_LIMITS_RUNS || 500);
const PHASE_S = Number(process.env.BENCH_LIMITS_SECONDS || 3);
const MODELS = '/api/v2/models';
const CHAT = '/api/v2/chat/completions';
const CHAT_BODY = JSON.stringify({ model: 'fake-gpt', messages: 'hello', stream: false });

function timed(agent, port, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent, headers: { ...headers, 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function cannon(port, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url: `http://127.0.0.1:${port}${MODELS}`, connections: 16, duration: PHASE_S, headers }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** Interleaves `n` requests per kind one by one (alternating the order) and returns each kind's latencies. */
async function interleave(kinds, n, call) {
  const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  for (let i = 0; i < n; i++) {
    const order = i % 2 === 0 ? Object.keys(kinds) : Object.keys(kinds).reverse();
    for (const k of order) times[k].push(await call(k));
  }
  return times;
}

/** p50 and p99 of one in-memory ThrottlerStorageService.increment, µs (one key, as one client would). */
async function inMemoryIncrement(n) {
  const storage = new ThrottlerStorageService();
  const times = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await storage.increment('default:key:bench', 60_000, 1e9, 60_000, 'default');
      times.push((performance.now() - t0) * 1000);
    }
  } finally {
    storage.onApplicationShutdown();
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function run({ log, profile }) {
  const stack = await startStack('limits', { proxy: false, profile });
  try {
    const port = stack.ensemble.port;
    const key = async (body) => {
      const res = await httpJson(port, 'POST', '/api/v2/serve/keys', { scopes: ['chat'], ...body }, AUTH);
      if (res.status !== 201) throw new Error(`creating a key: ${res.status} ${res.text}`);
      return { authorization: `Bearer ${res.json.data.key}` };
    };
    const rate = {
      'not limited (rate_limit_per_minute 0)': await key({ name: 'off', rate_limit_per_minute: 0 }),
      'shared limiter (Postgres upsert)': await key({ name: 'on', rate_limit_per_minute: 1_000_000 }),
    };
    const runs = {
      'no run cap (max_concurrent_runs 0)': await key({
        name: 'runs off',
        rate_limit_per_minute: 0,
        max_concurrent_runs: 0,
      }),
      'shared run cap (slot taken, given back)': await key({
        name: 'runs on',
        rate_limit_per_minute: 0,
        max_concurrent_runs: 10_000,
      }),
    };
    const agents = Object.fromEntries(
      [...Object.keys(rate), ...Object.keys(runs)].map((k) => [k, new http.Agent({ keepAlive: true, maxSockets: 1 })]),
    );

    log('warm-up');
    for (let i = 0; i < 300; i++)
      for (const k of Object.keys(rate)) await timed(agents[k], port, 'GET', MODELS, rate[k]);
    for (let i = 0; i < 50; i++)
      for (const k of Object.keys(runs)) await timed(agents[k], port, 'POST', CHAT, runs[k], CHAT_BODY);
    stack.markMeasured();

    log(`${SEQUENTIAL} sequential GET ${MODELS} per key, interleaved`);
    const rateTimes = await interleave(rate, SEQUENTIAL, (k) => timed(agents[k], port, 'GET', MODELS, rate[k]));
    const rps = Object.fromEntries(Object.keys(rate).map((k) => [k, []]));
    for (let r = 0; r < 2; r++) {
      for (const k of r % 2 === 0 ? Object.keys(rate) : Object.keys(rate).reverse()) {
        log(`autocannon round ${r + 1}: ${k}`);
        const res = await cannon(port, rate[k]);
        rps[k].push(res.requests.total / res.duration);
      }
    }
    log(`${RUNS} sequential chat runs per key, interleaved`);
    const runTimes = await interleave(runs, RUNS, (k) => timed(agents[k], port, 'POST', CHAT, runs[k], CHAT_BODY));
    for (const a of Object.values(agents)) a.destroy();
    const memory = await inMemoryIncrement(20_000);

    const p = (times, k, q) => percentile(times[k], q);
    const [rateOff, rateOn] = Object.keys(rate);
    const [runsOff, runsOn] = Object.keys(runs);
    const rows = [
      ...Object.keys(rate).map((k) => [
        `GET ${MODELS}: ${k}`,
        rateTimes[k].length,
        p(rateTimes, k, 50).toFixed(3),
        p(rateTimes, k, 99).toFixed(3),
        (rps[k].reduce((s, v) => s + v, 0) / rps[k].length).toFixed(0),
      ]),
      ...Object.keys(runs).map((k) => [
        `chat run: ${k}`,
        runTimes[k].length,
        p(runTimes, k, 50).toFixed(3),
        p(runTimes, k, 99).toFixed(3),
        '',
      ]),
    ];
    const addedRate50 = p(rateTimes, rateOn, 50) - p(rateTimes, rateOff, 50);
    const addedRate99 = p(rateTimes, rateOn, 99) - p(rateTimes, rateOff, 99);
    const addedRun50 = p(runTimes, runsOn, 50) - p(runTimes, runsOff, 50);
    const addedRun99 = p(runTimes, runsOn, 99) - p(runTimes, runsOff, 99);
    const body =
      table(['key', 'requests', 'latency p50 ms', 'latency p99 ms', 'req/s (16 conn.)'], rows) +
      `\n\nAdded by the shared rate limiter: ${addedRate50.toFixed(3)} ms p50, ${addedRate99.toFixed(3)} ms p99 per request. ` +
      `The in-memory storage it replaced costs ${memory.p50.toFixed(2)} µs p50 (${memory.p99.toFixed(2)} µs p99) per request, ` +
      `so the shared limiter adds about ${(addedRate50 - memory.p50 / 1000).toFixed(3)} ms p50 over the in-memory one. ` +
      `Added by the shared run cap: ${addedRun50.toFixed(3)} ms p50, ${addedRun99.toFixed(3)} ms p99 per run (a slot taken in one statement, given back after).`;
    return {
      title: 'Limits: the shared limiter (Postgres) against none and the in-memory one',
      method:
        `One server, stored keys interleaved one by one (after warm-up): GET ${MODELS} on one keep-alive connection per key, ${SEQUENTIAL} requests each, ` +
        `then autocannon, 16 connections, 2 × ${PHASE_S} s per key, alternating; then ${RUNS} non-stream chat runs per key (fake upstream, 16 tokens). ` +
        `The in-memory figure is @nestjs/throttler's ThrottlerStorageService.increment timed in the benchmark process (20,000 calls on one key).`,
      body,
      bars: [
        ['shared rate limiter, added p50 (report)', `${addedRate50.toFixed(3)} ms`, 'measured'],
        ['shared run cap, added p50 per run (report)', `${addedRun50.toFixed(3)} ms`, 'measured'],
      ],
      profileDir: stack.profileDir,
      skipMs: stack.skipMs,
    };
  } finally {
    await stack.stop();
  }
}

module.exports = { run };
