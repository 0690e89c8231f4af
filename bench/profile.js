'use strict';
/**
 * Summarises V8 .cpuprofile files (node --cpu-prof): top functions by self
 * time, and self time by package (node_modules/<pkg>, node: internals, the
 * project's own dist/ code, GC, idle).
 *
 *   node bench/profile.js <file.cpuprofile | dir> [top=25] [skipMs=0]
 */
const { readFileSync, readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');
const { table } = require('./lib/report');

const ROOT = join(__dirname, '..');

/** Self time per profile node, in µs, of the samples taken `skipMs` or more after the profile started. */
function load(file, skipMs = 0) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const deltas = p.timeDeltas || [];
  const from = p.startTime + skipMs * 1000;
  let t = p.startTime;
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += deltas[i] || 0;
    // a sample's weight is the interval until the next sample
    const w = Math.max(0, deltas[i + 1] ?? 0);
    if (t < from) continue;
    totalUs += w;
    const node = byId.get(p.samples[i]);
    self.set(node, (self.get(node) || 0) + w);
  }
  return { self, totalUs };
}

function where(url) {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = path.slice(nm + 13).split('/');
    return `${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith('node:')) return 'node';
  if (path.startsWith(ROOT)) return relative(ROOT, path);
  return path;
}

function pkgOf(url, name) {
  if (name === '(garbage collector)') return '(gc)';
  if (name === '(idle)' || name === '(program)' || name === '(root)') return name;
  if (!url) return '(native/builtin)';
  const w = where(url);
  if (w.startsWith('dist/')) return `ensemble ${w.split('/').slice(0, 4).join('/')}`;
  return w.includes('/') ? w : w || '(native/builtin)';
}

function summarize(files, top = 25, skipMs = 0) {
  const fn = new Map();
  const pkg = new Map();
  let total = 0;
  for (const f of files) {
    const { self, totalUs } = load(f, skipMs);
    total += totalUs;
    for (const [node, us] of self) {
      const cf = node.callFrame;
      const key = `${cf.functionName || '(anonymous)'} ${where(cf.url)}:${cf.lineNumber + 1}`;
      fn.set(key, (fn.get(key) || 0) + us);
      const p = pkgOf(cf.url, cf.functionName);
      pkg.set(p, (pkg.get(p) || 0) + us);
    }
  }
  const idle = pkg.get('(idle)') || 0;
  const busy = total - idle;
  const pct = (us) => `${((100 * us) / Math.max(1, busy)).toFixed(1)}%`;
  const fnRows = [...fn]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => [k, (us / 1000).toFixed(0), pct(us)]);
  const pkgRows = [...pkg]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([k, us]) => [k, (us / 1000).toFixed(0), pct(us)]);
  return [
    `Profile(s): ${files.map((f) => relative(ROOT, f)).join(', ')}; ${(total / 1e6).toFixed(1)} s summarised${skipMs ? ` (the first ${(skipMs / 1000).toFixed(1)} s, boot and set-up, left out)` : ''}, ${(busy / 1e6).toFixed(1)} s not idle; shares are of non-idle time. The profiler samples wall time: a native call such as writev also holds the samples taken while the thread waited for a core (this machine is shared), so read it as "time in or around the syscall", not CPU.`,
    '',
    table(['function (self time)', 'ms', 'share'], fnRows),
    '',
    table(['where (self time)', 'ms', 'share'], pkgRows),
  ].join('\n');
}

function summarizeDir(dir, top, skipMs = 0) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  if (!files.length) return `(no .cpuprofile in ${dir})`;
  return summarize(files, top, skipMs);
}

if (require.main === module) {
  const [target, top, skip] = process.argv.slice(2);
  if (!target) {
    console.error('usage: node bench/profile.js <file.cpuprofile | dir> [top=25] [skipMs=0]');
    process.exit(2);
  }
  const n = Number(top || 25);
  const skipMs = Number(skip || 0);
  console.log(statSync(target).isDirectory() ? summarizeDir(target, n, skipMs) : summarize([target], n, skipMs));
}

module.exports = { summarize, summarizeDir };
