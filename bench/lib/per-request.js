'use strict';
/**
 * The frame of the per-request benchmarks (`instructions.js`, `promises.js`):
 * this build and every `main.js` given on the command line, each measured in
 * turn against one fake upstream that answers 1-token replies at once, with
 * chat_normal streams sent a given number at a time. TOKENS and
 * TOKEN_DELAY_MS (ms between tokens) set another reply: e.g. 20 and 1 for
 * one upstream read per token, as in the latency benchmark.
 */
const { relative } = require('node:path');
const procs = require('./procs');
const { streamTargets } = require('./stack');
const { makeAgent, stream, runConcurrent, summary } = require('./client');

/** A build's name in the tables: its path from the repository, or as given when outside it. */
const buildLabel = (main) => (relative(procs.ROOT, main).startsWith('..') ? main : relative(procs.ROOT, main));

/** The reply every build gets, as the methods of the tables name it. */
const REPLY = {
  tokens: Number(process.env.TOKENS || 1),
  tokenDelayMs: Number(process.env.TOKEN_DELAY_MS || 0),
};
const replyLabel = () =>
  REPLY.tokenDelayMs
    ? `${REPLY.tokens}-token streams (upstream tokens ${REPLY.tokenDelayMs} ms apart)`
    : `${REPLY.tokens}-token streams (instant upstream)`;

/**
 * Builds this tree when needed, starts the fake with that reply, and returns
 * `measure(main, fake)` for this build then each build named in argv.
 */
async function eachBuild(measure, log) {
  procs.ensureBuild(log);
  const builds = [procs.MAIN, ...process.argv.slice(2)];
  const fake = await procs.startFake();
  const rows = [];
  try {
    await procs.httpJson(fake.port, 'POST', '/_config', {
      tokens: REPLY.tokens,
      tokenText: 'tok ',
      firstTokenDelayMs: 0,
      tokenDelayMs: REPLY.tokenDelayMs,
      hold: false,
    });
    for (const build of builds) rows.push(await measure(build, fake));
  } finally {
    await fake.stop();
  }
  return rows;
}

/**
 * chat_normal streams to `server`, `concurrency` at a time: `run(total)`
 * sends `total` and returns how many were served, failing on any error;
 * `close()` ends the client's connections.
 */
function streamRunner({ fake, server, label, concurrency, maxMs }) {
  const target = streamTargets({ fake, ensemble: server }).ensemble;
  const agent = makeAgent(concurrency);
  return {
    async run(total) {
      const out = await runConcurrent({ concurrency, total, maxMs, fn: () => stream({ ...target, agent }) });
      const s = summary(out.results);
      if (s.errors > 0) throw new Error(`${label}: ${s.errors} of ${s.n} requests failed`);
      return s.n;
    },
    close: () => agent.destroy(),
  };
}

module.exports = { buildLabel, eachBuild, replyLabel, streamRunner };
