'use strict';
/**
 * The fixed cost of a request in instructions, which a busy machine does
 * not change: each build (this one, and every `main.js` given) runs under
 * valgrind's callgrind with instrumentation off, serves WARM requests (V8
 * optimises the request path), then counts the instructions of the next N
 * (chat_normal streams of 1 token from an instant upstream, C at a time;
 * default 1, so that no two runs' writes are merged and the count does not
 * depend on timing). Every thread of the process counts: the JavaScript,
 * the garbage collector and V8's optimising compiler, which are reported
 * apart (the collector's share of a window depends on which collections
 * fall in it; the compiler's on how far warm-up went, and on timing). The
 * server runs with --single-threaded: the collector and the compiler work
 * on the main thread when V8 asks for them, not at a moment set by the
 * scheduling of helper threads.
 *
 * Per function: callgrind names V8's generated code by address only; the
 * server runs with --perf-basic-prof, whose map (/tmp/perf-<pid>.map) names
 * each address range, so every JavaScript function and V8 builtin gets its
 * instructions per request. The functions whose counts differ most from
 * the first build's are listed (names without line numbers, so that two
 * builds of the same code compare).
 *
 *   node bench/instructions.js [other/dist/apps/server/src/main.js ...]
 *   WARM=5000 N=1000 C=1 TOP=25 (defaults); about 4 min per build on 2 cores
 *
 * Needs valgrind (callgrind, callgrind_control, callgrind_annotate).
 * Appends a section to bench/RESULTS.md.
 */
const { execFile, execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, rmSync } = require('node:fs');
const { userInfo } = require('node:os');
const { join } = require('node:path');
const procs = require('./lib/procs');
const { createDatabase } = require('./lib/db');
const { API_KEY } = require('./lib/stack');
const { buildLabel, eachBuild, replyLabel, streamRunner } = require('./lib/per-request');
const { appendSection, table } = require('./lib/report');

const WARM = Number(process.env.WARM || 5000);
const N = Number(process.env.N || 1000);
const C = Number(process.env.C || 1);
const TOP = Number(process.env.TOP || 25);
const OUT_DIR = join(procs.TMP, 'callgrind');

/** vgdb finds a process by its user and HOST: the server runs with HOST=127.0.0.1, so the control command must too. */
const controlEnv = { ...process.env, HOST: '127.0.0.1', USER: userInfo().username, LOGNAME: userInfo().username };
const control = (pid, ...args) =>
  new Promise((resolve, reject) =>
    execFile('callgrind_control', [...args, String(pid)], { env: controlEnv }, (e) => (e ? reject(e) : resolve())),
  );

/** The collector's own functions (its visitors, page bookkeeping and marking bitmaps), by name. */
const GC =
  /Scaveng|Marking|Sweep|Evacuat|heap::|Heap::|MarkCompact|ConcurrentMark|MemoryAllocator|MemoryChunk|BodyDescriptor|IterateObjectCache|RelocIterator|popcount|SizeFromMap|FreeList|PagedSpace|Sweeper|LiveObject|RememberedSet|StringTableCleaner|PointersUpdating|FlushedBytecode/;
/** V8's optimising compiler (TurboFan), by name. */
const COMPILER = /compiler::|turboshaft|Maglev|maglev|Pipeline|OptimizedCompilationJob/;

/** The code ranges of a --perf-basic-prof map, by start address; a later entry for an address wins. */
function readPerfMap(file) {
  const ranges = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m) ranges.push({ start: parseInt(m[1], 16), end: parseInt(m[1], 16) + parseInt(m[2], 16), name: m[3] });
  }
  ranges.sort((a, b) => a.start - b.start);
  return (address) => {
    let found;
    for (const r of ranges) {
      if (r.start > address) break;
      if (address < r.end) found = r;
    }
    return found;
  };
}

/** A function's name comparable across builds: no tier marker, build folder or line numbers. */
function plainName(name) {
  return name
    .replace(/^(LazyCompile|Function|JS|Builtin|Bytecodes?|Handler|Stub|RegExp):/, '')
    .replace(/^[*~^+]/, '')
    .replace(/ \/\S*?\/(dist|node_modules)\//, ' ')
    .replace(/:\d+:\d+$/, '');
}

/** Instructions per function (callgrind_annotate), summed into the collector, the optimising compiler and the rest. */
function analyse(file, pid) {
  const out = execFileSync('callgrind_annotate', ['--threshold=100', file], {
    maxBuffer: 256 * 1024 * 1024,
  }).toString();
  const mapFile = `/tmp/perf-${pid}.map`;
  const lookup = existsSync(mapFile) ? readPerfMap(mapFile) : () => undefined;
  const sums = { total: 0, gc: 0, compiler: 0 };
  const functions = new Map();
  for (const line of out.split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (!m) continue;
    const ir = Number(m[1].replace(/,/g, ''));
    const fn = m[2];
    if (fn === 'PROGRAM TOTALS') {
      sums.total = ir;
      continue;
    }
    if (GC.test(fn)) sums.gc += ir;
    else if (COMPILER.test(fn)) sums.compiler += ir;
    const address = /^\?\?\?:0x([0-9a-f]+) /.exec(fn);
    const named = address ? lookup(parseInt(address[1], 16)) : undefined;
    const key = named
      ? plainName(named.name)
      : fn
          .replace(/^\?\?\?:/, '')
          .replace(/\s*\[[^\]]*\]$/, '')
          .slice(0, 90);
    functions.set(key, (functions.get(key) ?? 0) + ir);
  }
  rmSync(mapFile, { force: true });
  return { sums, functions };
}

async function measure(main, fake, log) {
  const label = buildLabel(main);
  const db = await createDatabase('instructions');
  const file = join(OUT_DIR, `callgrind-${process.pid}-${db.name}.out`);
  let server;
  try {
    server = await procs.startEnsemble({
      databaseUrl: db.url,
      fakePort: fake.port,
      apiKey: API_KEY,
      main,
      env: { USER: controlEnv.USER, LOGNAME: controlEnv.LOGNAME },
      launcher: ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${file}`],
      nodeArgs: ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${file}.v8.log`, '--single-threaded'],
      startMs: 300_000,
    });
    const streams = streamRunner({ fake, server, label, concurrency: C, maxMs: 3_600_000 });
    const run = streams.run;
    log(`${label}: warming up (${WARM} requests under valgrind)`);
    await run(WARM);
    await control(server.pid, '--instr=on');
    const n = await run(N);
    await control(server.pid, '--dump');
    streams.close();
    const dumped = `${file}.1`;
    if (!existsSync(dumped)) throw new Error(`${label}: callgrind wrote no dump (${dumped})`);
    const { sums, functions } = analyse(dumped, server.pid);
    const per = (v) => v / n;
    return {
      label,
      n,
      total: per(sums.total),
      gc: per(sums.gc),
      compiler: per(sums.compiler),
      work: per(sums.total - sums.gc - sums.compiler),
      functions: new Map([...functions].map(([k, v]) => [k, per(v)])),
    };
  } finally {
    await server?.stop();
    await db.drop();
  }
}

const k = (v) => `${(v / 1000).toFixed(0)}k`;

/** The functions (outside the collector and the compiler) whose instructions per request differ most between `a` (the first build) and `b`. */
function differences(a, b) {
  const names = new Set([...a.functions.keys(), ...b.functions.keys()].filter((n) => !GC.test(n) && !COMPILER.test(n)));
  const rows = [...names].map((name) => {
    const x = a.functions.get(name) ?? 0;
    const y = b.functions.get(name) ?? 0;
    return { name, x, y, d: y - x };
  });
  rows.sort((p, q) => Math.abs(q.d) - Math.abs(p.d));
  return table(
    ['function', a.label, b.label, 'second − first'],
    rows.slice(0, TOP).map((r) => [r.name.replace(/\|/g, '\\|'), k(r.x), k(r.y), `${r.d > 0 ? '+' : ''}${k(r.d)}`]),
  );
}

async function main() {
  const log = (m) => console.error(`[instructions] ${m}`);
  execFileSync('valgrind', ['--version']);
  mkdirSync(OUT_DIR, { recursive: true });
  const rows = await eachBuild((build, fake) => measure(build, fake, log), log);
  const [first] = rows;
  let body = table(
    [
      'build',
      'requests',
      'instructions/request',
      'garbage collector',
      'optimising compiler',
      'the rest',
      'the rest vs first',
    ],
    rows.map((r) => [
      r.label,
      r.n,
      k(r.total),
      k(r.gc),
      k(r.compiler),
      k(r.work),
      r === first ? '–' : `${(((r.work - first.work) / first.work) * 100).toFixed(1)}%`,
    ]),
  );
  for (const other of rows.slice(1))
    body += `\n\nThe ${TOP} functions that differ most outside the collector and the compiler, instructions per request (${first.label} → ${other.label}):\n\n${differences(first, other)}`;
  console.log(body);
  appendSection('Instructions per request (callgrind)', {
    method:
      `Method: each build under valgrind's callgrind, ${WARM} chat_normal ${replyLabel()} ` +
      `to warm up with instrumentation off, then the instructions of the next ${N} counted ` +
      `(every thread), ${C} at a time, the server with --single-threaded; "the rest" leaves out the garbage collector and V8's optimising compiler. ` +
      `Functions named through the server's --perf-basic-prof map.`,
    body,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
