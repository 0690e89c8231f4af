'use strict';
/**
 * node bench/frames-store.js — how to store a background run's frames in
 * Postgres, side by side on this machine (an A/B tool; its figures go in
 * RESULTS.md's durable section by hand). Each layout stores the same runs:
 * 256 content frames of the chat chunk format (about 230 bytes each), in
 * batches as one upstream read would give (1 batch of 256, or 32 batches of
 * 8), from 8 concurrent clients, each batch one statement that also moves
 * the stream's row (as the server does):
 *   batch-pglz   one row per batch, the frames concatenated (text, default pglz TOAST compression)
 *   batch-lz4    the same, the column compressed with lz4
 *   frame-rows   one row per frame, inserted with unnest() in one statement per batch
 * Prints runs/s and the Postgres server CPU per run (from /proc of the backends).
 */
const { Client } = require('pg');
const { readFileSync, readdirSync } = require('node:fs');
const { performance } = require('node:perf_hooks');

const ADMIN_URL =
  process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const RUNS = Number(process.env.BENCH_FRAMES_RUNS || 400);
const CLIENTS = 8;
const FRAMES = 256;

const head = `{"id":"chatcmpl-0b7c0c57-5a61-4a34-a4e1-4d7d5d2e8b11","object":"chat.completion.chunk","created":1764690000,"model":"fake-gpt","choices":[`;
const frame = (seq, i) =>
  `id: ${seq}\ndata: ${head}{"index":0,"delta":{"role":"assistant","content":"tok${i} "},"finish_reason":null}]}\n\n`;

/** CPU (ms) used so far by the Postgres processes of this machine whose command line names `db`. */
function pgCpuMs(db) {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.startsWith('postgres:') || !cmd.includes(db)) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    } catch {
      // gone
    }
  }
  return total;
}

const LAYOUTS = {
  'batch-pglz': {
    ddl: `CREATE TABLE f (run_id uuid, first_seq int, last_seq int, frames text, PRIMARY KEY (run_id, first_seq))`,
    write: (c, run, first, frames) =>
      c.query(
        `WITH s AS (UPDATE s SET last_seq = $3 WHERE run_id = $1 RETURNING run_id)
         INSERT INTO f SELECT run_id, $2, $3, $4 FROM s`,
        [run, first, first + frames.length - 1, frames.join('')],
      ),
  },
  'batch-lz4': {
    ddl: `CREATE TABLE f (run_id uuid, first_seq int, last_seq int, frames text COMPRESSION lz4, PRIMARY KEY (run_id, first_seq))`,
    write: (c, run, first, frames) =>
      c.query(
        `WITH s AS (UPDATE s SET last_seq = $3 WHERE run_id = $1 RETURNING run_id)
         INSERT INTO f SELECT run_id, $2, $3, $4 FROM s`,
        [run, first, first + frames.length - 1, frames.join('')],
      ),
  },
  'frame-rows': {
    ddl: `CREATE TABLE f (run_id uuid, seq int, frame text, PRIMARY KEY (run_id, seq))`,
    write: (c, run, first, frames) =>
      c.query(
        `WITH s AS (UPDATE s SET last_seq = $3 WHERE run_id = $1 RETURNING run_id)
         INSERT INTO f SELECT s.run_id, $2 + n - 1, x FROM s, unnest($4::text[]) WITH ORDINALITY AS u(x, n)`,
        [run, first, first + frames.length - 1, frames],
      ),
  },
};

async function measure(name, layout, batch) {
  const db = `ensemble_bench_frames_${process.pid}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${db}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${db}`;
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const c = new Client({ connectionString: url.toString() });
      await c.connect();
      return c;
    }),
  );
  try {
    await clients[0].query(`CREATE TABLE s (run_id uuid PRIMARY KEY, last_seq int NOT NULL DEFAULT 0)`);
    await clients[0].query(layout.ddl);
    const frames = Array.from({ length: FRAMES }, (_, i) => frame(i + 1, i));
    let next = 0;
    const cpu0 = pgCpuMs(db);
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (c) => {
        while (next < RUNS) {
          next++;
          const { rows } = await c.query(`INSERT INTO s (run_id) VALUES (gen_random_uuid()) RETURNING run_id`);
          for (let first = 1; first <= FRAMES; first += batch)
            await layout.write(c, rows[0].run_id, first, frames.slice(first - 1, first - 1 + batch));
        }
      }),
    );
    const ms = performance.now() - t0;
    const cpu = pgCpuMs(db) - cpu0;
    const [{ size }] = (await clients[0].query(`SELECT pg_total_relation_size('f') AS size`)).rows;
    return [
      name,
      batch,
      Math.round(RUNS / (ms / 1000)),
      ((cpu / RUNS) * 1000).toFixed(0),
      (size / RUNS / 1024).toFixed(1),
    ];
  } finally {
    await Promise.all(clients.map((c) => c.end()));
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
}

async function main() {
  const rows = [];
  for (const batch of [256, 8]) {
    for (const [name, layout] of Object.entries(LAYOUTS)) rows.push(await measure(name, layout, batch));
  }
  console.log(`${RUNS} runs of ${FRAMES} frames, ${CLIENTS} concurrent clients\n`);
  console.log('| layout | frames per batch | runs/s | Postgres CPU µs per run | stored KiB per run |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
