'use strict';
/**
 * Preloaded into a server by `bench/promises.js` (node --require): counts
 * the promises the process creates between SIGUSR1 and SIGUSR2, each by the
 * JavaScript frame that created it, and writes the counts to
 * $BENCH_PROMISES_OUT on SIGUSR2 (JSON: total, and count per frame).
 */
const { createHook } = require('node:async_hooks');
const { writeFileSync } = require('node:fs');

const OUT = process.env.BENCH_PROMISES_OUT;
const byFrame = new Map();
let total = 0;
let counting = false;

/** The first frame of JavaScript code (not Node's internals, not a builtin such as `Promise.then`), without its column: `fn (path:line)`. */
function creator() {
  const holder = {};
  Error.captureStackTrace(holder, creator);
  for (const line of holder.stack.split('\n').slice(1)) {
    const frame = line.trim().replace(/^at /, '');
    if (
      frame.includes('node:internal') ||
      frame.includes('node:async_hooks') ||
      frame.includes(__filename) ||
      frame.endsWith('(<anonymous>)')
    )
      continue;
    return frame
      .replace(/:\d+\)?$/, (m) => (m.endsWith(')') ? ')' : ''))
      .replace(/(^|\()\/.*?\/(node_modules|dist)\//, '$1$2/');
  }
  return '(native)';
}

createHook({
  init(_id, type) {
    if (!counting || type !== 'PROMISE') return;
    total++;
    const frame = creator();
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + 1);
  },
}).enable();

process.on('SIGUSR1', () => {
  byFrame.clear();
  total = 0;
  counting = true;
});
process.on('SIGUSR2', () => {
  counting = false;
  if (OUT) writeFileSync(OUT, JSON.stringify({ total, byFrame: Object.fromEntries(byFrame) }));
});
