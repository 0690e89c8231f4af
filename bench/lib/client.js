'use strict';
/**
 * The load client: node:http with keep-alive agents. One streamed request
 * measures time to first token (the first SSE chunk whose delta has
 * non-empty content) and time to last token (`data: [DONE]`), from just
 * before the request is written.
 */
const http = require('node:http');
const { performance } = require('node:perf_hooks');

function makeAgent(sockets) {
  return new http.Agent({
    keepAlive: true,
    maxSockets: sockets,
    maxFreeSockets: sockets,
    keepAliveMsecs: 1000,
    scheduling: 'fifo',
  });
}

const CONTENT = '"content":"';

/**
 * One streamed request. Resolves (never rejects) with
 * { ok, status, ttft, ttlt, chunks, error } (times in ms).
 * `onFirst` is called at the first content chunk; `signal` aborts.
 */
function stream({ port, path, method = 'POST', headers = {}, body, agent, onFirst, timeoutMs = 120_000 }) {
  const data = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve) => {
    const t0 = performance.now();
    let ttft = NaN;
    let ttlt = NaN;
    let chunks = 0;
    let status = 0;
    let error;
    let done = false;
    let settled = false;
    const finish = (err) => {
      if (settled) return;
      settled = true;
      if (err && !error) error = err;
      if (!done && !error) error = 'stream ended without [DONE]';
      resolve({ ok: !error, status, ttft, ttlt, chunks, error });
    };
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        agent,
        headers: {
          ...(method === 'POST' && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }),
          accept: 'text/event-stream',
          ...headers,
        },
      },
      (res) => {
        status = res.statusCode;
        if (status !== 200) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => finish(`HTTP ${status}: ${text.slice(0, 200)}`));
          res.on('error', (e) => finish(String(e)));
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (piece) => {
          buf += piece;
          let start = 0;
          let end;
          while ((end = buf.indexOf('\n\n', start)) !== -1) {
            // one event: buf[start, end); a resumable stream's `id: n` line before its data is skipped
            if (buf.startsWith('id: ', start)) start = buf.indexOf('\n', start) + 1;
            if (buf.startsWith('data: ', start)) {
              if (buf.startsWith('data: [DONE]', start)) {
                done = true;
                ttlt = performance.now() - t0;
              } else if (buf.startsWith('data: {"error"', start)) {
                error = `error frame: ${buf.slice(start + 6, Math.min(end, start + 200))}`;
              } else {
                const i = buf.indexOf(CONTENT, start);
                if (i !== -1 && i < end && buf.charCodeAt(i + CONTENT.length) !== 34) {
                  chunks++;
                  if (chunks === 1) {
                    ttft = performance.now() - t0;
                    if (onFirst) onFirst();
                  }
                }
              }
            }
            start = end + 2;
          }
          buf = start > 0 ? buf.slice(start) : buf;
        });
        res.on('end', () => finish());
        res.on('error', (e) => finish(String(e)));
        res.on('close', () => finish(done ? undefined : 'connection closed'));
      },
    );
    req.on('socket', (s) => s.setNoDelay(true));
    req.on('error', (e) => finish(String(e.message || e)));
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.end(data);
  });
}

/**
 * Runs `fn(i)` from `concurrency` workers until `total` calls were started
 * or `maxMs` passed (whichever first): a bounded load loop that stops by itself.
 */
async function runConcurrent({ concurrency, total, maxMs, fn }) {
  const results = [];
  let started = 0;
  const deadline = performance.now() + maxMs;
  const t0 = performance.now();
  const worker = async () => {
    while (started < total && performance.now() < deadline) {
      const i = started++;
      results.push(await fn(i));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { results, wallMs: performance.now() - t0 };
}

function percentile(values, p) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const idx = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[idx];
}

const median = (values) => percentile(values, 50);

function summary(results) {
  const ok = results.filter((r) => r.ok);
  return {
    n: results.length,
    errors: results.length - ok.length,
    firstError: results.find((r) => !r.ok)?.error,
    ttft50: percentile(
      ok.map((r) => r.ttft),
      50,
    ),
    ttft99: percentile(
      ok.map((r) => r.ttft),
      99,
    ),
    ttlt50: percentile(
      ok.map((r) => r.ttlt),
      50,
    ),
    ttlt99: percentile(
      ok.map((r) => r.ttlt),
      99,
    ),
    chunks: ok.reduce((s, r) => s + r.chunks, 0),
  };
}

module.exports = { makeAgent, stream, runConcurrent, percentile, median, summary, performance };
