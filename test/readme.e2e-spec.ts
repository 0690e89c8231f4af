/**
 * The README's examples, run as a newcomer would paste them: every fenced
 * block marked `<!-- readme-test … -->` runs in order, in one shell, against
 * the compiled server on the embedded database with the offline model. Each
 * block must exit 0 and print what its marker's `expect` says; a `file="x.mjs"`
 * block is saved under that name and run with plain `node`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  sharedBuild,
  CompiledServerBuild,
  REPO_ROOT,
  RunningProcess,
  startCompiledServer,
} from './support/compiled-server';

interface Example {
  lang: string;
  body: string;
  expect: string;
  file?: string;
}

const MARKED = /<!-- readme-test((?:\s+\w+="(?:[^"\\]|\\.)*")*)\s*-->\n```(\w+)\n([\s\S]*?)\n```\n/g;

function attrs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2].replace(/\\(.)/g, '$1');
  return out;
}

export function readmeExamples(markdown: string): Example[] {
  return [...markdown.matchAll(MARKED)].map((m) => {
    const a = attrs(m[1]);
    if (!a.expect) throw new Error(`a readme-test block has no expect: ${m[0].slice(0, 120)}`);
    return { lang: m[2], body: m[3], expect: a.expect, file: a.file };
  });
}

function runShell(script: string, env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('the README examples, as pasted', () => {
  let build: CompiledServerBuild;
  let dataDir: string;
  let workDir: string;
  let server: RunningProcess | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ensemble-readme-'));
    // Inside the repository, so a script's `import 'openai'` finds the installed package.
    workDir = join(REPO_ROOT, 'node_modules', '.cache', `ensemble-readme-${process.pid}`);
    mkdirSync(workDir, { recursive: true });
    build = await sharedBuild();
    server = await startCompiledServer(build.main, { API_KEYS: 'change-me', DATA_DIR: dataDir }, 120_000);
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    for (const dir of [dataDir, workDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('finds the marked examples', () => {
    const examples = readmeExamples(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
    expect(examples.length).toBeGreaterThanOrEqual(10);
    expect(examples.filter((e) => e.file).map((e) => e.lang)).toEqual(['js']);
  });

  it('runs every marked example in order: each exits 0 and answers as the README says', async () => {
    const examples = readmeExamples(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
    const parts = ['set -eo pipefail'];
    examples.forEach((example, i) => {
      parts.push(`echo '::block ${i} start'`);
      if (example.file) {
        writeFileSync(join(workDir, example.file), example.body + '\n');
        parts.push(`node ${JSON.stringify(example.file)}`);
      } else {
        parts.push(example.body);
      }
      parts.push(`echo '::block ${i} end'`);
    });
    const port = new URL(server!.origin).port;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: port };
    const { code, out } = await runShell(parts.join('\n'), env, workDir);
    examples.forEach((example, i) => {
      const start = out.indexOf(`::block ${i} start\n`);
      const end = out.indexOf(`::block ${i} end\n`);
      const output = start >= 0 && end > start ? out.slice(start, end) : undefined;
      if (output === undefined)
        throw new Error(`README example ${i + 1} failed:\n${example.body}\n---\n${out.slice(-4000)}`);
      if (!output.includes(example.expect)) {
        throw new Error(`README example ${i + 1} did not print ${example.expect}:\n${example.body}\n---\n${output}`);
      }
    });
    expect(code).toBe(0);
  }, 180_000);
});
