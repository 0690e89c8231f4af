'use strict';
/**
 * Where the end of a stream goes, and the floor under it on this machine.
 * Ensemble sends `[DONE]` once the run's final write has committed; the
 * latency benchmark reports the added TTLT minus the added TTFT. This tool
 * splits that end on the server's own clock (bench/lib/end-tap.js,
 * preloaded: node:http and pg timestamped, no Ensemble code patched):
 * upstream `[DONE]` arrived → final statement handed to its connection →
 * its result back → our `[DONE]` written. Then, with the server stopped, it
 * replays each captured final statement (same text and values, same
 * database; the runs exist, so each replay inserts a message and updates
 * the run and its conversation as the original did) on a bare pg client
 * after the idle time a run's connection has between its first and final
 * write, beside a one-row INSERT and a `SELECT 1` after the same idle time,
 * and a `SELECT 1` with none: what any server that commits these rows
 * before `[DONE]` would pay here.
 *
 *   node bench/end-of-stream.js        N=300 streams (first 50 not counted), REPLAYS=200, IDLE_MS=25
 *
 * The latency benchmark's settings: chat_normal, 20 tokens, 5 ms before the
 * first, 1 ms apart, one stream at a time. Appends a section to bench/RESULTS.md.
 */
const { join } = require('node:path');
const { readFileSync } = require('node:fs');
const { setTimeout: sleep } = require('node:timers/promises');
const { Client } = require('pg');
const procs = require('./lib/procs');
const { startStack, streamTargets } = require('./lib/stack');
const { makeAgent, stream, percentile } = require('./lib/client');
const { appendSection, table } = require('./lib/report');

const N = Number(process.env.N || 300);
const WARM = 50;
const REPLAYS = Number(process.env.REPLAYS || 200);
const IDLE_MS = Number(process.env.IDLE_MS || 25);
const TAP_OUT = join(procs.TMP, `end-tap-${process.pid}.json`);

async function timed(client, query) {
  const t0 = process.hrtime.bigint();
  await client.query(query);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main() {
  process.env.BENCH_SERVER_NODE_ARGS = `--require ${join(__dirname, 'lib', 'end-tap.js')}`;
  process.env.END_TAP_OUT = TAP_OUT;
  const stack = await startStack('endofstream', { proxy: false });
  try {
    await stack.fakeCtl.config({ tokens: 20, tokenText: 'tok ', firstTokenDelayMs: 5, tokenDelayMs: 1, hold: false });
    const t = streamTargets(stack).ensemble;
    const agent = makeAgent(1);
    const ttlt = [];
    for (let i = 0; i < N; i++) {
      const r = await stream({ port: t.port, path: t.path, headers: t.headers, body: t.body, agent });
      if (!r.ok) throw new Error(`stream ${i} failed: ${r.error}`);
      if (i >= WARM) ttlt.push(r.ttlt);
    }
    agent.destroy();
    await stack.ensemble.stop();
    const ends = JSON.parse(readFileSync(TAP_OUT, 'utf8')).slice(WARM);
    if (ends.length < N - WARM) throw new Error(`the tap saw ${ends.length} ends of ${N - WARM} streams`);

    // The floor: the same statements on a bare client, after a run connection's idle time.
    const pg = new Client({ connectionString: stack.db.url });
    await pg.connect();
    await pg.query('CREATE TABLE bench_end_floor (v int)');
    const replay = [];
    const insert = [];
    const idleSelect = [];
    const busySelect = [];
    for (let i = 0; i < Math.min(REPLAYS, ends.length); i++) {
      const { text, values } = ends[i];
      await sleep(IDLE_MS);
      replay.push(await timed(pg, { text, values, name: 'bench_end_replay' }));
      await sleep(IDLE_MS);
      insert.push(await timed(pg, 'INSERT INTO bench_end_floor VALUES (1)'));
      await sleep(IDLE_MS);
      idleSelect.push(await timed(pg, 'SELECT 1'));
      busySelect.push(await timed(pg, 'SELECT 1'));
    }
    await pg.end();

    const row = (label, values) => [label, percentile(values, 50), percentile(values, 90)];
    // Spans on the server's clock, each from one timestamp of the tap to another.
    const spans = [
      ['server: upstream `[DONE]` arrived → final statement handed to pg', 'upstreamDone', 'sent'],
      ['server: final statement round trip (commit included)', 'sent', 'done'],
      ['server: result back → our `[DONE]` written', 'done', 'doneWritten'],
      ['server: upstream `[DONE]` arrived → our `[DONE]` written', 'upstreamDone', 'doneWritten'],
    ];
    const rows = [
      ...spans.map(([label, from, to]) =>
        row(
          label,
          ends.map((e) => e[to] - e[from]),
        ),
      ),
      row(`bare client: the captured final statement replayed, after ${IDLE_MS} ms idle`, replay),
      row(`bare client: one-row INSERT commit, after ${IDLE_MS} ms idle`, insert),
      row(`bare client: SELECT 1, after ${IDLE_MS} ms idle`, idleSelect),
      row('bare client: SELECT 1 right after another', busySelect),
      row('client: TTLT of the streams', ttlt),
    ];
    const body = [
      table(['figure', 'p50 ms', 'p90 ms'], rows),
      '',
      `Final statement (the last one before \`[DONE]\`): \`${ends[0].text.slice(0, 120)}…\``,
    ].join('\n');
    console.log(body);
    appendSection('The end of a stream, split on the server’s clock, and its floor on this machine', {
      method:
        `Method: ${N} chat_normal streams one at a time (20 tokens, 5 ms before the first, 1 ms apart; the first ${WARM} ` +
        'not counted), the server preloaded with bench/lib/end-tap.js (timestamps from node:http and pg only). Then, the ' +
        `server stopped, ${Math.min(REPLAYS, ends.length)} of the captured final statements replayed on one bare pg client ` +
        `to the same database, each after ${IDLE_MS} ms idle (about a run's connection's idle time between its first and ` +
        'final write), alternating with a one-row INSERT and a SELECT 1 after the same idle time.',
      body,
    });
  } finally {
    await stack.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
