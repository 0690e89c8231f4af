'use strict';
/** The processes of one benchmark, started together and always stopped (databases dropped). */
const { join } = require('node:path');
const { mkdirSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const procs = require('./procs');
const { createDatabase } = require('./db');

const API_KEY = 'bench-key-0123456789';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const MESSAGES = [{ role: 'user', content: 'Write a short poem about benchmarks.' }];

/**
 * Starts the fake upstream, the proxy (unless `proxy: false`), a fresh
 * database and Ensemble (unless `ensemble: false`); `profile` runs Ensemble
 * with --cpu-prof into bench/.tmp/profiles/<tag>. `baseline` also starts
 * the build named by BENCH_BASELINE_MAIN, when set (`stack.baseline`).
 */
async function startStack(tag, { proxy = true, ensemble = true, baseline = false, profile = false, env = {} } = {}) {
  const stack = { tag, apiKey: API_KEY, auth: AUTH };
  const cleanups = [];
  stack.stop = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error(`cleanup: ${e.message}`));
  };
  try {
    stack.fake = await procs.startFake();
    cleanups.push(() => stack.fake.stop());
    stack.fakeCtl = fakeControl(stack.fake.port);
    if (proxy) {
      stack.proxy = await procs.startProxy(stack.fake.port);
      cleanups.push(() => stack.proxy.stop());
    }
    stack.db = await createDatabase(tag);
    cleanups.push(() => stack.db.drop());
    if (ensemble) {
      stack.profileDir = profile ? join(procs.TMP, 'profiles', `${tag}-${Date.now()}`) : undefined;
      if (stack.profileDir) mkdirSync(stack.profileDir, { recursive: true });
      stack.startEnsemble = async (extraEnv = {}) => {
        stack.ensembleSpawnedAt = performance.now();
        const e = await procs.startEnsemble({
          databaseUrl: stack.db.url,
          fakePort: stack.fake.port,
          apiKey: API_KEY,
          env: { ...env, ...extraEnv },
          profileDir: stack.profileDir,
        });
        cleanups.push(() => e.stop());
        return e;
      };
      stack.ensemble = await stack.startEnsemble();
      // BENCH_BASELINE_MAIN: another build (e.g. the one before a change) measured beside it, on its own database.
      if (baseline && process.env.BENCH_BASELINE_MAIN) {
        const baseDb = await createDatabase(`${tag}_base`);
        cleanups.push(() => baseDb.drop());
        stack.baseline = await procs.startEnsemble({
          databaseUrl: baseDb.url,
          fakePort: stack.fake.port,
          apiKey: API_KEY,
          env,
          main: process.env.BENCH_BASELINE_MAIN,
          name: 'baseline',
        });
        cleanups.push(() => stack.baseline.stop());
      }
    }
    /** Call when the measured part starts: the profile summary leaves out what came before. */
    stack.markMeasured = () => {
      stack.skipMs ??= stack.ensembleSpawnedAt === undefined ? 0 : performance.now() - stack.ensembleSpawnedAt;
    };
    return stack;
  } catch (e) {
    await stack.stop();
    throw e;
  }
}

function fakeControl(port) {
  return {
    config: (c) => procs.httpJson(port, 'POST', '/_config', c).then((r) => r.json),
    reset: () => procs.httpJson(port, 'POST', '/_reset', {}),
    release: () => procs.httpJson(port, 'POST', '/_release', {}).then((r) => r.json),
    stats: () => procs.httpJson(port, 'GET', '/_stats').then((r) => r.json),
  };
}

/** The ways a client reaches the model: straight to the fake, through the proxy, through Ensemble (chat_normal), and through the baseline build when there is one. */
function streamTargets(stack, { messages = MESSAGES } = {}) {
  const upstreamBody = JSON.stringify({
    model: 'gpt-4o-mini',
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  const targets = {
    direct: { name: 'direct', port: stack.fake.port, path: '/v1/chat/completions', headers: {}, body: upstreamBody },
  };
  if (stack.proxy)
    targets.proxy = {
      name: 'proxy',
      port: stack.proxy.port,
      path: '/v1/chat/completions',
      headers: {},
      body: upstreamBody,
    };
  for (const name of ['ensemble', 'baseline']) {
    if (!stack[name]) continue;
    targets[name] = {
      name,
      port: stack[name].port,
      path: '/api/v2/chat/completions',
      headers: AUTH,
      body: JSON.stringify({ model: 'fake-gpt', messages, stream: true, stream_options: { include_usage: true } }),
    };
  }
  return targets;
}

module.exports = { API_KEY, AUTH, MESSAGES, startStack, streamTargets };
