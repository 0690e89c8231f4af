'use strict';
/** Child processes of a benchmark: the fake upstream, the minimal proxy, the pg floor, and Ensemble itself. */
const { spawn, execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, statSync, readdirSync, writeFileSync } = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const TMP = join(ROOT, 'bench', '.tmp');
/** The server's compiled entry point; BENCH_SERVER_MAIN measures another build (e.g. a "before" tree). */
const MAIN = process.env.BENCH_SERVER_MAIN || join(ROOT, 'dist', 'apps', 'server', 'src', 'main.js');
const CLK_TCK = 100;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
mkdirSync(TMP, { recursive: true });

/** Every child started here, so an interrupted run still stops them. */
const children = new Set();

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The newest modification time under a folder (sources), in ms. */
function newest(dir) {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) max = Math.max(max, newest(p));
    else if (entry.name.endsWith('.ts') || entry.name.endsWith('.json')) max = Math.max(max, statSync(p).mtimeMs);
  }
  return max;
}

/** Runs `npm run build` when dist/…/main.js is missing or older than a source file. */
function ensureBuild(log) {
  if (process.env.BENCH_SERVER_MAIN) {
    if (!existsSync(MAIN)) throw new Error(`BENCH_SERVER_MAIN=${MAIN} does not exist`);
    log(`using ${MAIN} (BENCH_SERVER_MAIN)`);
    return false;
  }
  const sources = Math.max(newest(join(ROOT, 'apps')), newest(join(ROOT, 'libs')));
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= sources) return false;
  log('building the server (npm run build): dist is missing or stale');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  return true;
}

function track(child, name) {
  children.add(child);
  let output = '';
  child.stdout?.on('data', (c) => (output = (output + c.toString()).slice(-20000)));
  child.stderr?.on('data', (c) => (output = (output + c.toString()).slice(-20000)));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => children.delete(child));
  return {
    name,
    child,
    pid: child.pid,
    output: () => output,
    exited,
    async stop(timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Starts a node script that prints {"port": N} once listening. */
function startScript(name, script, env = {}, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = track(child, name);
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (c) => {
      buf += c.toString();
      const line = buf.split('\n')[0];
      if (buf.includes('\n')) {
        child.stdout.off('data', onData);
        try {
          resolve({ ...proc, port: JSON.parse(line).port });
        } catch (e) {
          reject(new Error(`${name}: unexpected output ${line}`));
        }
      }
    };
    child.stdout.on('data', onData);
    proc.exited.then(({ code }) => reject(new Error(`${name} exited (${code}) before listening:\n${proc.output()}`)));
  });
}

const startFake = () => startScript('fake-upstream', join(ROOT, 'bench', 'fake-upstream.js'));
const startProxy = (upstreamPort) =>
  startScript('proxy', join(ROOT, 'bench', 'proxy.js'), { UPSTREAM_PORT: String(upstreamPort) });
const startFloor = (databaseUrl, apiKey) =>
  startScript('pg-floor', join(ROOT, 'bench', 'pg-floor.js'), {
    DATABASE_URL: databaseUrl,
    API_KEY: apiKey,
    DB_POOL_SIZE: '10',
  });

/** Writes a models file pointing `fake-gpt` at the fake upstream; the key is read from `api_key_env`. */
function modelsFile(fakePort) {
  const file = join(TMP, `models-${process.pid}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      default: 'fake-gpt',
      models: [
        {
          name: 'fake-gpt',
          provider: 'openai',
          model: 'gpt-4o-mini',
          base_url: `http://127.0.0.1:${fakePort}/v1`,
          api_key_env: 'BENCH_FAKE_UPSTREAM_KEY',
        },
      ],
    }),
  );
  return file;
}

/**
 * Ensemble as `npm run start:prod` runs it: node dist/apps/server/src/main.js
 * (or `main`, another build), its own process, configured by the
 * environment. `profileDir` adds --cpu-prof, `nodeArgs` other node flags.
 * `launcher` runs node under another program (e.g. valgrind and its
 * options), which the health wait allows `startMs` for.
 */
async function startEnsemble({
  databaseUrl,
  fakePort,
  apiKey,
  env = {},
  profileDir,
  main = MAIN,
  name = 'ensemble',
  launcher = [],
  nodeArgs: extraNodeArgs = [],
  startMs = 60_000,
}) {
  const port = await freePort();
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  nodeArgs.push(...extraNodeArgs);
  // Extra node flags for the server, e.g. BENCH_SERVER_NODE_ARGS=--trace-gc (diagnosis only).
  if (process.env.BENCH_SERVER_NODE_ARGS)
    nodeArgs.push(...process.env.BENCH_SERVER_NODE_ARGS.split(/\s+/).filter(Boolean));
  const childEnv = { ...process.env };
  for (const k of ['DATABASE_URL', 'API_KEYS', 'MODELS_FILE', 'PORT', 'HOST', 'ENSEMBLE_INSECURE_NO_AUTH'])
    delete childEnv[k];
  const command = [...launcher, process.execPath, ...nodeArgs, main];
  const child = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    env: {
      ...childEnv,
      NO_COLOR: '1',
      HOST: '127.0.0.1',
      PORT: String(port),
      API_KEYS: apiKey,
      DATABASE_URL: databaseUrl,
      MODELS_FILE: modelsFile(fakePort),
      BENCH_FAKE_UPSTREAM_KEY: 'sk-bench-fake',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '0',
      MAX_CONCURRENT_RUNS_PER_KEY: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = track(child, name);
  const deadline = Date.now() + startMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`Ensemble exited (${child.exitCode}) before answering:\n${proc.output()}`);
    try {
      const r = await httpGet(port, '/api/health');
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`Ensemble did not answer /api/health within ${startMs / 1000} s:\n${proc.output()}`);
    }
    await sleep(100);
  }
  return { ...proc, port, origin: `http://127.0.0.1:${port}` };
}

/** Plain GET over a fresh connection (probes, health). */
function httpGet(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
  });
}

function httpJson(port, method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, json, text });
        });
      },
    );
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.end(data);
  });
}

/** Resident set size of a process, in KiB (VmRSS of /proc/<pid>/status). */
function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** CPU time (user + system) a process used so far, in ms (/proc/<pid>/stat). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

function selfCpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function stopAll() {
  await Promise.all(
    [...children].map((c) => {
      if (c.exitCode !== null || c.signalCode !== null) return undefined;
      c.kill('SIGTERM');
      return new Promise((r) => {
        const t = setTimeout(() => {
          c.kill('SIGKILL');
          r();
        }, 15_000);
        c.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }),
  );
}

module.exports = {
  ROOT,
  TMP,
  MAIN,
  sleep,
  freePort,
  ensureBuild,
  startFake,
  startProxy,
  startFloor,
  startEnsemble,
  httpGet,
  httpJson,
  rssKiB,
  cpuMs,
  selfCpuMs,
  stopAll,
};
