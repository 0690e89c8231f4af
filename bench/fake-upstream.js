'use strict';
/**
 * A fake OpenAI-compatible upstream for the benchmarks, in its own process
 * (node:http on 127.0.0.1). Lighter than test/support/fake-openai.ts: every
 * chunk of a reply is serialised once per request, so the fake costs the
 * same for every path under test (direct, minimal proxy, Ensemble).
 *
 *   node bench/fake-upstream.js            prints {"port": N} on stdout once listening
 *
 * Control (JSON over HTTP, same port):
 *   POST /_config  {tokens, tokenText, firstTokenDelayMs, tokenDelayMs, planSteps, answerTokens,
 *                   longTokens, hold, maxHoldMs}   merges into the current configuration
 *   POST /_release ends every held stream (finish chunk, usage, [DONE]) at its next tick
 *   GET  /_stats   {count, open, held, totalMs, durations: [ms…], arrivals: [epoch ms…]} since the last reset
 *   POST /_reset   clears the stats
 *
 * Embeddings: POST /v1/embeddings answers every input with a deterministic
 * unit vector (a hashed bag of its words, `dimensions` of the request or 256).
 *
 * Replies: a request whose messages contain "serial_number" (the Planner's
 * system prompt) gets a JSON plan of `planSteps` steps for the agent
 * "AI Assistant"; any other team call gets `answerTokens` tokens when set;
 * a request whose last message contains "LONG REPLY" gets `longTokens` words
 * when set; everything else `tokens` tokens of `tokenText`. With `hold`, a stream sends
 * one token every `tokenDelayMs` until released (or `maxHoldMs`).
 * Per-request durations (request arrival → response end) are recorded so the
 * team benchmark can subtract the time spent "in the LLM".
 */
const http = require('node:http');
const { performance } = require('node:perf_hooks');

/** hrtime of performance.timeOrigin, so arrival times are epoch ms comparable across processes. */
const T0 = process.hrtime.bigint() - BigInt(Math.round(performance.now() * 1e6));

const config = {
  tokens: 16,
  tokenText: 'tok ',
  firstTokenDelayMs: 0,
  tokenDelayMs: 0,
  planSteps: 3,
  answerTokens: 0,
  longTokens: 0,
  hold: false,
  maxHoldMs: 180_000,
};
let stats = { count: 0, totalMs: 0, durations: [], arrivals: [] };
let open = 0;
let released = false;
const held = new Set();

function planText(steps) {
  const plan = [];
  for (let i = 1; i <= steps; i++) {
    plan.push({
      serial_number: i,
      agent: 'AI Assistant',
      content: `Benchmark step ${i}: look at part ${i} of the question`,
      rely: '',
    });
  }
  return JSON.stringify(plan);
}

/** Splits a text into ~8-character tokens (a plan streams as several chunks, as a model's would). */
function splitText(text) {
  const out = [];
  for (let i = 0; i < text.length; i += 8) out.push(text.slice(i, i + 8));
  return out;
}

function isPlanner(body) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  for (const m of msgs) if (typeof m.content === 'string' && m.content.includes('serial_number')) return true;
  return false;
}

function isTeamCall(body) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  return msgs.some((m) => m.role === 'system');
}

function replyTokens(body) {
  if (isPlanner(body)) return splitText(planText(config.planSteps));
  if (config.answerTokens > 0 && isTeamCall(body))
    return Array.from({ length: config.answerTokens }, (_, i) => `answer${i} `);
  if (config.longTokens > 0 && wantsLong(body)) return Array.from({ length: config.longTokens }, (_, i) => `word${i} `);
  return Array.from({ length: config.tokens }, () => config.tokenText);
}

function wantsLong(body) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  const last = msgs[msgs.length - 1];
  return !!last && typeof last.content === 'string' && last.content.includes('LONG REPLY');
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (p) => parts.push(p));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function chat(req, res, body, started) {
  open++;
  if (stats.arrivals.length < 10_000) stats.arrivals.push(performance.timeOrigin + Number(started - T0) / 1e6);
  let counted = false;
  const done = () => {
    if (counted) return;
    counted = true;
    open--;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    stats.count++;
    stats.totalMs += ms;
    if (stats.durations.length < 200_000) stats.durations.push(ms);
  };
  res.on('close', done);
  const tokens = replyTokens(body);
  const model = typeof body.model === 'string' ? body.model : 'fake';
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-fake${created}`;
  const usage = { prompt_tokens: 10, completion_tokens: tokens.length, total_tokens: 10 + tokens.length };
  if (!body.stream) {
    if (config.firstTokenDelayMs) await sleep(config.firstTokenDelayMs);
    return json(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: tokens.join('') }, finish_reason: 'stop' }],
      usage,
    });
  }
  const includeUsage = body.stream_options && body.stream_options.include_usage === true;
  const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":[`;
  const tail = includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  const token = (t) => `${head}{"index":0,"delta":{"content":${JSON.stringify(t)}},"finish_reason":null}]${tail}`;
  const first = `${head}{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]${tail}`;
  const end =
    `${head}{"index":0,"delta":{},"finish_reason":"stop"}]${tail}` +
    (includeUsage ? `${head}],"usage":${JSON.stringify(usage)}}\n\n` : '') +
    'data: [DONE]\n\n';
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
  if (config.firstTokenDelayMs) await sleep(config.firstTokenDelayMs);
  if (res.destroyed) return;
  if (config.hold) {
    // One token per tick until released; bounded by maxHoldMs.
    const deadline = Date.now() + config.maxHoldMs;
    res.write(first + token(config.tokenText));
    held.add(res);
    try {
      while (!res.destroyed && !released && Date.now() < deadline) {
        await sleep(config.tokenDelayMs || 1000);
        if (res.destroyed) return;
        if (released) break;
        res.write(token(config.tokenText));
      }
    } finally {
      held.delete(res);
    }
    if (!res.destroyed) res.end(end);
    return;
  }
  if (!config.tokenDelayMs) {
    // Instant upstream: the whole reply in one write.
    let all = first;
    for (const t of tokens) all += token(t);
    res.end(all + end);
    return;
  }
  res.write(first + token(tokens[0] ?? ''));
  for (let i = 1; i < tokens.length; i++) {
    await sleep(config.tokenDelayMs);
    if (res.destroyed) return;
    res.write(token(tokens[i]));
  }
  res.end(end);
}

/** A unit vector for a text: each word adds 1 to the dimension its FNV-1a hash picks. */
function embedding(text, dims) {
  const v = new Array(dims).fill(0);
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []) {
    let h = 0x811c9dc5;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 0x01000193) >>> 0;
    v[h % dims] += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Number((x / norm).toFixed(6)));
}

function embeddings(res, body) {
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  const dims = body.dimensions || 256;
  return json(res, 200, {
    object: 'list',
    data: input.map((t, index) => ({ object: 'embedding', index, embedding: embedding(t, dims) })),
    model: body.model,
    usage: { prompt_tokens: 0, total_tokens: 0 },
  });
}

const server = http.createServer(async (req, res) => {
  const started = process.hrtime.bigint();
  try {
    const path = (req.url || '/').split('?')[0];
    const raw = await readBody(req);
    if (req.method === 'POST' && path === '/v1/chat/completions') return await chat(req, res, JSON.parse(raw), started);
    if (req.method === 'POST' && path === '/v1/embeddings') return embeddings(res, JSON.parse(raw));
    if (req.method === 'GET' && path === '/v1/models') {
      return json(res, 200, {
        object: 'list',
        data: [{ id: 'gpt-4o-mini', object: 'model', created: 0, owned_by: 'bench' }],
      });
    }
    if (req.method === 'POST' && path === '/_config') {
      Object.assign(config, JSON.parse(raw || '{}'));
      if (config.hold) released = false;
      return json(res, 200, config);
    }
    if (req.method === 'POST' && path === '/_release') {
      released = true;
      return json(res, 200, { held: held.size });
    }
    if (req.method === 'POST' && path === '/_reset') {
      stats = { count: 0, totalMs: 0, durations: [], arrivals: [] };
      return json(res, 200, { ok: true });
    }
    if (req.method === 'GET' && path === '/_stats') return json(res, 200, { ...stats, open, held: held.size });
    return json(res, 404, {
      error: {
        message: `Unknown request URL: ${req.method} ${path}`,
        type: 'invalid_request_error',
        param: null,
        code: 'unknown_url',
      },
    });
  } catch (e) {
    if (!res.headersSent)
      json(res, 500, { error: { message: String(e), type: 'server_error', param: null, code: null } });
    else res.destroy();
  }
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.requestTimeout = 0;
server.maxConnections = 100_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
