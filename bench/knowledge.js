'use strict';
/**
 * Knowledge spaces: ingest throughput and retrieval latency.
 *
 *   node bench/knowledge.js            # ~1–2 min on the 2-core machine
 *
 * Ensemble (built dist, fresh database) gets synthetic Markdown documents
 * (headings and paragraphs of Zipf-distributed words, so some terms are in
 * most chunks and most terms in few) uploaded as multipart files and synced
 * with the default chunk parameters (512 characters, by Markdown header).
 * Ingest throughput = Markdown bytes / (upload + sync until FINISHED), per
 * document, sequential. Retrieval latency = POST /spaces/{id}/retrieve
 * (top_k 5, 2–5 word queries), sequential, measured once the space holds
 * ~10k chunks and again at ~100k, on two servers sharing the database: one
 * with no embedding model (lexical path) and one with the fake upstream's
 * embedding model (hybrid: lexical + vector ranking, fused), which also
 * did the ingest (so every chunk has a vector). Appends a section to
 * bench/RESULTS.md.
 *
 *   BENCH_KNOWLEDGE_DB=embedded node bench/knowledge.js
 *
 * runs the one server with the embedding model on the embedded database
 * (PGlite, vectors in pgvector, ranked in SQL) instead: hybrid path only.
 * "First query" is the hybrid server's first retrieval after the last sync
 * of each step, timed on its own (the server that synced; no other query
 * in between).
 */
const { performance } = require('node:perf_hooks');
const { ensureBuild, httpJson, startEnsemble, stopAll, TMP } = require('./lib/procs');
const { startStack, AUTH } = require('./lib/stack');
const { percentile } = require('./lib/client');
const { appendSection, bar, fmt, table } = require('./lib/report');
const http = require('node:http');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const DOC_BYTES = 5 * 1024 * 1024;
const QUERIES = Number(process.env.BENCH_KNOWLEDGE_QUERIES || 200);
const TARGETS = [10_000, 100_000];
/** Dimensions of the fake embedding model's vectors. */
const DIMS = Number(process.env.BENCH_KNOWLEDGE_EMBED_DIMS || 256);
/** `postgres` (the local server: real[] vectors, cosine in the process) or `embedded` (PGlite with pgvector). */
const DB = process.env.BENCH_KNOWLEDGE_DB || 'postgres';
if (!['postgres', 'embedded'].includes(DB)) throw new Error(`BENCH_KNOWLEDGE_DB must be postgres or embedded`);

/** A models file with `fake-gpt` and the embedding model `fake-embed`, both on the fake upstream. */
function embeddingModelsFile(fakePort) {
  const file = join(tmpdir(), `models-embed-${process.pid}.json`);
  const upstream = {
    provider: 'openai',
    base_url: `http://127.0.0.1:${fakePort}/v1`,
    api_key_env: 'BENCH_FAKE_UPSTREAM_KEY',
  };
  writeFileSync(
    file,
    JSON.stringify({
      default: 'fake-gpt',
      models: [
        { name: 'fake-gpt', model: 'gpt-4o-mini', ...upstream },
        { name: 'fake-embed', type: 'embedding', model: 'text-embedding-3-small', dimensions: DIMS, ...upstream },
      ],
    }),
  );
  return file;
}

/** The queries' retrievals on one server, one at a time: latencies and how many found something. */
async function measure(port, spaceId, queries) {
  const latencies = [];
  let found = 0;
  for (const text of queries) {
    const t = performance.now();
    const res = await httpJson(
      port,
      'POST',
      `/api/v2/serve/knowledge/spaces/${spaceId}/retrieve`,
      { query: text, top_k: 5 },
      AUTH,
    );
    latencies.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`retrieve: ${res.status} ${res.text}`);
    if (res.json.data.length) found++;
  }
  return { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), found };
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(42);
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'qui', 'dor', 'len', 'tra', 'vis'];
const VOCABULARY = Array.from({ length: 20_000 }, (_, i) => {
  let w = '';
  for (let n = i + 7; n > 0; n = Math.floor(n / SYLLABLES.length)) w += SYLLABLES[n % SYLLABLES.length];
  return w;
});
/** Zipf-like: word i with weight 1/(i+1). */
const CUMULATIVE = (() => {
  let sum = 0;
  return VOCABULARY.map((_, i) => (sum += 1 / (i + 1)));
})();
function word() {
  const x = random() * CUMULATIVE[CUMULATIVE.length - 1];
  let lo = 0;
  let hi = CUMULATIVE.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (CUMULATIVE[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return VOCABULARY[lo];
}
const words = (n) => Array.from({ length: n }, word).join(' ');

function markdown(bytes) {
  const parts = [];
  let size = 0;
  while (size < bytes) {
    const part = `## ${words(3)}\n\n${words(40 + Math.floor(random() * 40))}.\n\n${words(30 + Math.floor(random() * 30))}.\n\n`;
    parts.push(part);
    size += Buffer.byteLength(part);
  }
  return `# ${words(4)}\n\n${parts.join('')}`;
}

function upload(port, spaceId, name, content) {
  const boundary = `----bench${Date.now()}`;
  const field = (k, v) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  const head =
    field('doc_type', 'DOCUMENT') +
    field('space_id', String(spaceId)) +
    field('doc_name', name) +
    `--${boundary}\r\nContent-Disposition: form-data; name="doc_file"; filename="${name}"\r\nContent-Type: text/markdown\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), Buffer.from(content), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v2/serve/knowledge/documents',
        method: 'POST',
        headers: {
          ...AUTH,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': body.length,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  ensureBuild(console.log);
  const env = { KNOWLEDGE_MAX_FILE_SIZE: String(DOC_BYTES * 2) };
  const embedded = DB === 'embedded';
  const stack = await startStack('knowledge', { proxy: false, ensemble: !embedded, env });
  const dataDir = embedded ? mkdtempSync(join(TMP, 'knowledge-pglite-')) : undefined;
  let lexical;
  let port;
  if (embedded) {
    // One server on the embedded database (no DATABASE_URL), with the embedding model.
    const server = await startEnsemble({
      databaseUrl: '',
      fakePort: stack.fake.port,
      apiKey: stack.apiKey,
      env: { ...env, DATA_DIR: dataDir, MODELS_FILE: embeddingModelsFile(stack.fake.port) },
    });
    port = server.port;
  } else {
    lexical = stack.ensemble.port;
    // A second server on the same database, with the embedding model: it ingests, so every chunk gets a vector.
    port = (await stack.startEnsemble({ MODELS_FILE: embeddingModelsFile(stack.fake.port) })).port;
  }
  const where = embedded ? 'pgvector on the embedded database' : 'real[] on Postgres, cosine in the process';
  const rows = [];
  const ingest = [];
  /** Polls of a syncing document that were not answered 200 (the database busy with the sync). */
  let busyPolls = 0;
  try {
    const space = await httpJson(
      port,
      'POST',
      '/api/v2/serve/knowledge/spaces',
      { name: 'bench', language: 'english' },
      AUTH,
    );
    const spaceId = space.json.data.id;
    let chunks = 0;
    for (const target of TARGETS) {
      while (chunks < target) {
        const content = markdown(DOC_BYTES);
        const started = performance.now();
        const doc = await upload(port, spaceId, `doc-${ingest.length}.md`, content);
        if (doc.status !== 201) throw new Error(`upload: ${doc.status} ${JSON.stringify(doc.json)}`);
        const id = doc.json.data.id;
        await httpJson(port, 'POST', '/api/v2/serve/knowledge/documents/sync', [{ doc_id: String(id) }], AUTH);
        let state;
        do {
          await new Promise((r) => setTimeout(r, 50));
          const res = await httpJson(port, 'GET', `/api/v2/serve/knowledge/documents/${id}`, undefined, AUTH);
          // The embedded database runs one transaction at a time: while a sync writes, a read may time out (503).
          if (res.status !== 200) {
            busyPolls++;
            continue;
          }
          state = res.json.data;
        } while (state?.status !== 'FINISHED' && state?.status !== 'FAILED');
        if (state.status !== 'FINISHED') throw new Error(`sync: ${JSON.stringify(state)}`);
        const seconds = (performance.now() - started) / 1000;
        ingest.push({ mb: Buffer.byteLength(content) / 1048576, seconds, chunks: state.chunk_size });
        chunks += state.chunk_size;
        console.log(
          `ingested ${fmt(Buffer.byteLength(content) / 1048576)} MB, ${state.chunk_size} chunks in ${fmt(seconds)} s; space: ${chunks} chunks`,
        );
      }
      const queries = Array.from({ length: QUERIES }, (_, i) => words(2 + (i % 4)));
      const lex = lexical ? await measure(lexical, spaceId, queries) : undefined;
      if (lex) rows.push({ chunks, path: 'lexical (no embedding model)', ...lex });
      // The first query after the last sync: timed on its own.
      const t = performance.now();
      const warm = await httpJson(
        port,
        'POST',
        `/api/v2/serve/knowledge/spaces/${spaceId}/retrieve`,
        { query: 'warm', top_k: 5 },
        AUTH,
      );
      if (warm.status !== 200) throw new Error(`first hybrid retrieve: ${warm.status} ${warm.text}`);
      const loadMs = performance.now() - t;
      const hybrid = await measure(port, spaceId, queries);
      rows.push({
        chunks,
        path: `hybrid, ${where} (${DIMS}-dim vectors; first query after the sync ${fmt(loadMs)} ms)`,
        ...hybrid,
      });
      console.log(
        `retrieval at ${chunks} chunks: ${lex ? `lexical p50 ${fmt(lex.p50)} ms p99 ${fmt(lex.p99)} ms; ` : ''}hybrid p50 ${fmt(hybrid.p50)} ms p99 ${fmt(hybrid.p99)} ms (first query after the sync ${fmt(loadMs)} ms)`,
      );
    }
  } finally {
    await stack.stop();
    await stopAll();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  const mb = ingest.reduce((s, x) => s + x.mb, 0);
  const seconds = ingest.reduce((s, x) => s + x.seconds, 0);
  const at100k = rows.filter((r) => r.path.startsWith('lexical')).at(-1);
  const body = [
    table(
      ['chunks in the space', 'path', 'retrieve p50 ms', 'p90 ms', 'p99 ms', `queries with hits (of ${QUERIES})`],
      rows.map((r) => [r.chunks, r.path, fmt(r.p50), fmt(r.p90), fmt(r.p99), r.found]),
    ),
    '',
    `Ingest: ${fmt(mb)} MB of Markdown in ${ingest.length} documents, ${fmt(seconds)} s of upload + sync: **${fmt(mb / seconds)} MB/s** (${fmt(ingest.reduce((s, x) => s + x.chunks, 0) / seconds, 0)} chunks/s).${busyPolls ? ` ${busyPolls} status polls during syncs were not answered 200 (the database busy with the sync's transaction).` : ''}`,
    ...(at100k
      ? [
          '',
          table(
            ['bar', 'figure', ''],
            [
              [
                'retrieval p50 ≤ 50 ms at 100k chunks (lexical)',
                `${fmt(at100k.p50)} ms at ${at100k.chunks}`,
                bar(at100k.p50 <= 50),
              ],
            ],
          ),
        ]
      : []),
  ].join('\n');
  console.log(body);
  const vectors = embedded
    ? 'vectors in a pgvector column of the embedded database (PGlite)'
    : 'vectors as real[] on the local Postgres';
  const retrieval = embedded
    ? "on the one server (embedded database): hybrid only (the query embedded by the fake upstream, exact cosine distance over the space's vectors in SQL, fused with the lexical ranking by reciprocal rank)"
    : 'on two servers sharing the database: lexical (no embedding model) and hybrid (the query embedded by the fake upstream, exact cosine over every vector of the space held in memory, fused with the lexical ranking by reciprocal rank)';
  appendSection(`Knowledge: ingest and retrieval (${embedded ? 'embedded database, pgvector' : 'Postgres'})`, {
    method: `Method: \`${embedded ? 'BENCH_KNOWLEDGE_DB=embedded ' : ''}node bench/knowledge.js\`. Synthetic Markdown (Zipf-distributed words, a heading per section), 5 MB documents uploaded as multipart and synced sequentially with the default chunk parameters (512 characters, by Markdown header); ingest time is upload + sync until the document is FINISHED (parse, chunk, embed every chunk with the fake upstream embedding model in requests of 64 texts, tsvector, GIN full-text and trigram indexes, ${vectors}, one transaction). Retrieval: \`POST /spaces/{id}/retrieve\` with top_k 5 and 2–5 word queries from the same vocabulary, sequential, ${retrieval}. "First query after the sync": the hybrid server's first retrieval after the last document of the step was synced (by that server), timed on its own.`,
    body,
  });
}

main().catch(async (e) => {
  console.error(e);
  await stopAll().catch(() => undefined);
  process.exit(1);
});
