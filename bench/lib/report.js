'use strict';
/** Tables for the console and dated sections appended to bench/RESULTS.md. */
const os = require('node:os');
const { appendFileSync, existsSync, writeFileSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

const RESULTS = join(__dirname, '..', 'RESULTS.md');

const HEADER = `# Ensemble benchmark results

Written by \`npm run bench\` (all five) or \`npm run bench -- <name>\` (one of
\`latency\`, \`throughput\`, \`team\`, \`streams\`, \`admin\`); each run appends a
dated section per benchmark below, earlier sections are kept. Method, in short
(bench/README.md has the details):

- Everything runs on this machine over 127.0.0.1: a fake OpenAI-compatible
  upstream (bench/fake-upstream.js), a minimal node:http pass-through proxy
  (bench/proxy.js), Ensemble from its compiled output
  (dist/apps/server/src/main.js) on a fresh Postgres database, and the load
  client (bench/lib/client.js, node:http keep-alive agents; autocannon for the
  admin reads). Each is its own process; they share the machine's cores, so
  every figure is measured side by side in the same run and reported as a
  difference or ratio against "direct" (client → fake) and the minimal proxy.
- TTFT = request written → first SSE chunk with non-empty content; TTLT =
  request written → \`data: [DONE]\`. p50/p99 over all streams of a phase.
- Every load loop is bounded in count and time and stops by itself.
`;

function fmt(v, digits = 2) {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  return v.toFixed(digits);
}

/** A markdown table (also readable on the console). */
function table(columns, rows) {
  const head = `| ${columns.join(' | ')} |`;
  const sep = `| ${columns.map(() => '---').join(' | ')} |`;
  const body = rows.map((r) => `| ${r.map((c) => fmt(c)).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

function gitRev() {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'apps', 'libs'], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
    }).trim();
    return dirty ? `${rev} + uncommitted changes` : rev;
  } catch {
    return 'unknown';
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    load: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    rev: gitRev(),
  };
}

function machineLine(m = machine(), extra = '') {
  return `Machine: ${m.cores} cores, ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}, ${m.os}; load average at start ${m.load}; code ${m.rev}${extra ? `; ${extra}` : ''}.`;
}

/** Appends `## <date> — <title>` with the machine line, method, and body. */
function appendSection(title, { method, body, extra }) {
  if (!existsSync(RESULTS)) writeFileSync(RESULTS, HEADER);
  const current = readFileSync(RESULTS, 'utf8');
  const stamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  const text = `\n## ${stamp} — ${title}\n\n${machineLine(machine(), extra)}\n\n${method.trim()}\n\n${body.trim()}\n`;
  appendFileSync(RESULTS, current.endsWith('\n') ? text : `\n${text}`);
}

const bar = (met) => (met ? 'MET' : 'MISSED');

module.exports = { RESULTS, table, fmt, machine, machineLine, appendSection, bar };
