/**
 * The server as `npm start` runs it: compiled by `nest build` and started as
 * its own Node process (`dist/apps/server/src/main.js`), for tests of what only
 * the real entry point does (the embedded database default, refusing a bad
 * configuration). The build goes to a private folder under node_modules/.cache,
 * so the repository's own dist/ is left alone. It is made once per test run:
 * the global setup starts it in the background (`startSharedBuild`) and the
 * specs that need it wait for it (`sharedBuild`).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, AddressInfo } from 'node:net';
import { join, relative, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..');

/** The environment variable that tells the specs where the run's build goes. */
const BUILD_DIR_ENV = 'ENSEMBLE_TEST_BUILD_DIR';

export interface CompiledServerBuild {
  /** Path of the compiled main.js. */
  main: string;
}

/**
 * Starts `nest build server` into a new private folder without waiting for it;
 * when it exits, its exit code is written to `status` in that folder (its
 * output to `build.log`). Returns the folder and the build process.
 */
export function startSharedBuild(): { dir: string; child: ChildProcess } {
  const dir = join(REPO_ROOT, 'node_modules', '.cache', `ensemble-e2e-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: join(REPO_ROOT, 'apps/server/tsconfig.app.json'), compilerOptions: { outDir: './out' } }),
  );
  const nest = require.resolve('@nestjs/cli/bin/nest.js', { paths: [REPO_ROOT] });
  const log = openSync(join(dir, 'build.log'), 'w');
  // The CLI joins --path to the working directory: give it relative.
  const child = spawn(
    process.execPath,
    [nest, 'build', 'server', '--path', relative(REPO_ROOT, join(dir, 'tsconfig.json'))],
    { cwd: REPO_ROOT, stdio: ['ignore', log, log] },
  );
  child.on('error', (e) => writeFileSync(join(dir, 'status'), `error ${e.message}`));
  child.on('exit', (code, signal) => writeFileSync(join(dir, 'status'), String(code ?? signal)));
  child.unref();
  process.env[BUILD_DIR_ENV] = dir;
  return { dir, child };
}

/** Waits for the run's build (started by the global setup) and returns it; fails with its output if it failed. */
export async function sharedBuild(timeoutMs = 240_000): Promise<CompiledServerBuild> {
  const dir = process.env[BUILD_DIR_ENV];
  if (!dir) throw new Error(`${BUILD_DIR_ENV} is not set: run the e2e tests through jest (global setup).`);
  const status = join(dir, 'status');
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(status)) {
    if (Date.now() > deadline) throw new Error(`nest build did not finish within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const code = readFileSync(status, 'utf8');
  if (code !== '0') {
    const log = existsSync(join(dir, 'build.log')) ? readFileSync(join(dir, 'build.log'), 'utf8') : '';
    throw new Error(`nest build failed (${code}):\n${log}`.slice(0, 8000));
  }
  return { main: join(dir, 'out', 'apps', 'server', 'src', 'main.js') };
}

/** Removes the run's build folder. */
export function removeSharedBuild(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A port that was free a moment ago (the server takes it from PORT). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

export interface RunningProcess {
  child: ChildProcess;
  origin: string;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGTERM (as Ctrl-C or an orchestrator would), then waits for the exit; SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/**
 * The environment of the child: this process's, minus anything that would
 * point the server at a database, plus `env`.
 */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(base)) {
    if (
      name === 'DATABASE_URL' ||
      name === 'API_KEYS' ||
      name === 'ENSEMBLE_INSECURE_NO_AUTH' ||
      name === 'PORT' ||
      name === 'MODELS_FILE'
    ) {
      delete base[name];
    }
  }
  return { ...base, NO_COLOR: '1', ...env };
}

/** Runs main.js (in `cwd`) to its exit (for a start that must fail); resolves with the exit code and output. */
export function runToExit(
  main: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
  cwd = REPO_ROOT,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [main], {
      cwd,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.js did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}

/**
 * Starts main.js (in `cwd`) on a free port and waits until /api/health
 * answers. The port is free when chosen but may be taken by another process
 * before the server binds it: then it starts again on another one.
 */
export async function startCompiledServer(
  main: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
  cwd = REPO_ROOT,
): Promise<RunningProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(main, env, timeoutMs, cwd);
    } catch (e) {
      if (attempt >= 3 || !(e instanceof Error) || !e.message.includes('EADDRINUSE')) throw e;
    }
  }
}

async function startOnFreePort(
  main: string,
  env: Record<string, string>,
  timeoutMs: number,
  cwd: string,
): Promise<RunningProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    cwd,
    env: childEnv({ HOST: '127.0.0.1', PORT: String(port), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const origin = `http://127.0.0.1:${port}`;

  const running: RunningProcess = {
    child,
    origin,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before answering:\n${output}`);
    }
    try {
      const res = await fetch(`${origin}/api/health`);
      if (res.ok) return running;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await running.stop();
      throw new Error(`the server did not answer /api/health within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
