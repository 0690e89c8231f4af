'use strict';
/**
 * Preloaded into the server by `bench/end-of-stream.js` (node --require):
 * timestamps along the end of each stream on the server's own clock, with
 * nothing of Ensemble's code patched, only node:http and pg. Per stream
 * answered with `data: [DONE]`: when the upstream's `[DONE]` arrived, when
 * the last statement before our `[DONE]` was handed to its connection and
 * when its result came back (with its text and values, to replay), and when
 * `[DONE]` was written. Written as JSON to END_TAP_OUT when the process exits.
 */
const http = require('node:http');
const { writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
// The server's own copy of pg (resolved from its entry point).
const pg = createRequire(process.argv[1])('pg');

const now = () => Number(process.hrtime.bigint()) / 1e6;
const streams = [];
let upstreamDone = 0;
let lastStatement;

const request = http.request;
http.request = function (...args) {
  const req = request.apply(this, args);
  req.on('response', (res) =>
    res.on('data', (chunk) => {
      if (String(chunk).includes('data: [DONE]')) upstreamDone = now();
    }),
  );
  return req;
};

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const statement = {
    sent: now(),
    text: typeof config === 'string' ? config : config.text,
    values: typeof config === 'string' ? rest[0] : config.values,
  };
  const settled = () => {
    statement.done = now();
    lastStatement = statement;
  };
  const result = query.call(this, config, ...rest);
  // A Query object reports through events, a text through the promise pg returns.
  if (result && typeof result.then === 'function') result.then(settled, () => undefined);
  else if (result && typeof result.on === 'function') result.on('end', settled);
  return result;
};

function seen(chunk) {
  if (typeof chunk !== 'string' || !chunk.includes('data: [DONE]') || !lastStatement) return;
  streams.push({ upstreamDone, doneWritten: now(), ...lastStatement });
  lastStatement = undefined;
}
const write = http.ServerResponse.prototype.write;
http.ServerResponse.prototype.write = function (chunk, ...rest) {
  seen(chunk);
  return write.call(this, chunk, ...rest);
};
const end = http.ServerResponse.prototype.end;
http.ServerResponse.prototype.end = function (chunk, ...rest) {
  seen(chunk);
  return end.call(this, chunk, ...rest);
};

process.on('exit', () => writeFileSync(process.env.END_TAP_OUT, JSON.stringify(streams)));
