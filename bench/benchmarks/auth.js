'use strict';
/**
 * Authentication cost. GET /api/v2/models (the cheapest guarded route) with
 * a bootstrap key of API_KEYS against a stored key (created through
 * POST /api/v2/serve/keys, so resolved by its hash and then served from the
 * per-replica cache), one request at a time on one keep-alive connection,
 * interleaved one by one so both see the same machine; then throughput with
 * autocannon, alternating. The added cost of a stored key is the difference
 * of the two p50s.
 */
const http = require('node:http');
const autocannon = require('autocannon');
const { startStack, AUTH } = require('../lib/stack');
const { table, bar } = require('../lib/report');
const { httpJson } = require('../lib/procs');
const { percentile, performance } = require('../lib/client');

const SEQUENTIAL = Number(process.env.BENCH_AUTH_REQUESTS || 3000);
const PHASE_S = Number(process.env.BENCH_AUTH_SECONDS || 3);
const PATH = '/api/v2/models';

function timedGet(agent, port, headers) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: PATH, headers, agent }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
  });
}

function cannon(port, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url: `http://127.0.0.1:${port}${PATH}`, connections: 16, duration: PHASE_S, headers }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

async function run({ log, profile }) {
  const stack = await startStack('auth', { proxy: false, profile });
  try {
    const port = stack.ensemble.port;
    const created = await httpJson(port, 'POST', '/api/v2/serve/keys', { name: 'bench', scopes: ['chat'] }, AUTH);
    if (created.status !== 201) throw new Error(`creating a key: ${created.status} ${created.text}`);
    const stored = { authorization: `Bearer ${created.json.data.key}` };
    const kinds = { 'API_KEYS (bootstrap)': AUTH, 'stored key (hash, cached)': stored };
    const agents = Object.fromEntries(
      Object.keys(kinds).map((k) => [k, new http.Agent({ keepAlive: true, maxSockets: 1 })]),
    );

    log('warm-up');
    for (let i = 0; i < 300; i++) for (const [k, h] of Object.entries(kinds)) await timedGet(agents[k], port, h);
    stack.markMeasured();
    log(`${SEQUENTIAL} sequential requests per key kind, interleaved`);
    const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
    for (let i = 0; i < SEQUENTIAL; i++) {
      const order = i % 2 === 0 ? Object.keys(kinds) : Object.keys(kinds).reverse();
      for (const k of order) times[k].push(await timedGet(agents[k], port, kinds[k]));
    }
    const rps = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
    for (let r = 0; r < 2; r++) {
      for (const k of r % 2 === 0 ? Object.keys(kinds) : Object.keys(kinds).reverse()) {
        log(`autocannon round ${r + 1}: ${k}`);
        const res = await cannon(port, kinds[k]);
        rps[k].push(res.requests.total / res.duration);
      }
    }
    for (const a of Object.values(agents)) a.destroy();

    const [envKind, dbKind] = Object.keys(kinds);
    const p50 = (k) => percentile(times[k], 50);
    const added = p50(dbKind) - p50(envKind);
    const rows = Object.keys(kinds).map((k) => [
      k,
      times[k].length,
      p50(k).toFixed(3),
      percentile(times[k], 99).toFixed(3),
      (rps[k].reduce((s, v) => s + v, 0) / rps[k].length).toFixed(0),
    ]);
    return {
      title: 'Authentication: stored keys against API_KEYS',
      method:
        `GET ${PATH} on one keep-alive connection, ${SEQUENTIAL} requests per key kind interleaved one by one (after 300 warm-up each); ` +
        `then autocannon, 16 connections, 2 × ${PHASE_S} s per kind, alternating. A stored key is found by the SHA-256 of its secret and cached per replica for one second.`,
      body: table(['key', 'requests', 'latency p50 ms', 'latency p99 ms', 'req/s (16 conn.)'], rows),
      bars: [['stored key adds ≤ 0.2 ms p50 (cached)', `${added.toFixed(3)} ms`, bar(added <= 0.2)]],
      profileDir: stack.profileDir,
      skipMs: stack.skipMs,
    };
  } finally {
    await stack.stop();
  }
}

module.exports = { run };
