'use strict';
/**
 * The cost of validating a chat request, in one process, for an A/B of two
 * compiled builds: the new build's ChatRequestPipe (ChatRequestDto through
 * class-transformer and class-validator) against an older build's parser
 * (`parseChatRequest`, when that build has it; else its pipe too). Bodies: a
 * DB-GPT chat_app request with 2 messages, an OpenAI chat_normal request with
 * 20 messages, and a refused body (a bad `temperature`: every earlier check
 * passes first). Every DTO of the new build is validated once first, as
 * in a running server. Prints CPU µs per request (median of the timed
 * rounds) and appends a section to bench/RESULTS.md.
 *
 *   node bench/chat-request.js [new build dir] [old build dir]
 *   (defaults: dist, built when stale; bench/.tmp/before/dist)
 *
 * An old build, e.g. of the commit before the pipe:
 *   mkdir -p bench/.tmp/before && git archive <commit> | tar -x -C bench/.tmp/before
 *   ln -s "$PWD/node_modules" bench/.tmp/before/node_modules && (cd bench/.tmp/before && npx nest build)
 */
const { join, resolve } = require('node:path');
const { ensureBuild } = require('./lib/procs');
const { appendSection, table } = require('./lib/report');

const ROOT = resolve(__dirname, '..');
const N = Number(process.env.N || 20000);
const ROUNDS = Number(process.env.ROUNDS || 7); // the first is warm-up

const chatApp = {
  model: 'chatgpt_proxyllm',
  messages: [
    { role: 'system', content: 'You answer questions about AWEL.' },
    { role: 'user', content: 'Introduce AWEL in three sentences.' },
  ],
  chat_mode: 'chat_app',
  chat_param: '1f8a2c3e-5b7d-4e9f-a1b2-c3d4e5f60718',
  conv_uid: '7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6',
  user_name: 'alice',
  incremental: true,
  stream: true,
};
const long = 'Some earlier turn of the conversation, a sentence or two of ordinary text. '.repeat(3);
const chatNormal = {
  model: 'gpt-4o-mini',
  messages: Array.from({ length: 20 }, (_, i) =>
    i === 0
      ? { role: 'system', content: 'You are a helpful assistant.' }
      : { role: i % 2 ? 'user' : 'assistant', content: `${long}(${i})` },
  ),
  temperature: 0.2,
  max_tokens: 512,
  stream: true,
  stream_options: { include_usage: true },
};
const refused = { ...chatNormal, temperature: 'hot' };

/**
 * A server's state: every DTO's checks used once, so that class-validator
 * holds all of them (as in a server that has served the admin routes).
 */
function useEveryCheck(dir) {
  require(join(resolve(ROOT, dir), 'apps', 'server', 'src', 'app.module.js'));
  const { getMetadataStorage, validateSync } = require(join(ROOT, 'node_modules', 'class-validator'));
  for (const type of getMetadataStorage().validationMetadatas.keys()) {
    if (typeof type === 'function') validateSync(new type(), { forbidUnknownValues: false });
  }
}

/** A build's validation of a body: its pipe, or its parser when it has no pipe. */
function validatorOf(dir, preferParser) {
  const src = (p) => join(resolve(ROOT, dir), 'apps', 'server', 'src', p);
  require(join(ROOT, 'node_modules', 'reflect-metadata'));
  const parser = require(src('chat/chat-request.js')).parseChatRequest;
  if (preferParser && parser) return { name: `parseChatRequest (${dir})`, run: parser };
  const { ChatRequestPipe } = require(src('chat/chat-request.pipe.js'));
  const pipe = new ChatRequestPipe();
  return { name: `ChatRequestPipe (${dir})`, run: (body) => pipe.transform(body) };
}

/**
 * CPU µs of this process per call of `run(body)` over N calls (a refusal is
 * caught, as the error filter would). CPU time, not wall time: on a shared
 * machine the wait for a core is not the code's cost.
 */
function timeIt(run, body) {
  let sink = 0;
  const t = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    try {
      sink += run(body).messages.length;
    } catch (e) {
      sink += e.message.length;
    }
  }
  const cpu = process.cpuUsage(t);
  const us = (cpu.user + cpu.system) / N;
  if (sink === 0) throw new Error('nothing validated');
  return us;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main() {
  const dirs = [process.argv[2] || 'dist', process.argv[3] || 'bench/.tmp/before/dist'];
  if (!process.argv[2]) ensureBuild((m) => console.log(m));
  // Before any chat request: the chat checks come last, as in a server that served other routes first.
  useEveryCheck(dirs[0]);
  const builds = [validatorOf(dirs[0], false), validatorOf(dirs[1], true)];
  const bodies = [
    ['chat_app, 2 messages', chatApp],
    ['chat_normal, 20 messages', chatNormal],
    ['refused (bad temperature)', refused],
  ];
  // Same answers from both, before timing anything.
  for (const [, body] of bodies) {
    const [a, b] = builds.map((v) => {
      try {
        return JSON.stringify(v.run(body));
      } catch (e) {
        return `${e.code} ${e.message} ${e.param}`;
      }
    });
    if (a !== b) throw new Error(`the builds disagree:\n${a}\n${b}`);
  }
  const results = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which build goes first.
    const order = round % 2 ? [...builds].reverse() : builds;
    for (const [label, body] of bodies) {
      for (const v of order) {
        const us = timeIt(v.run, body);
        if (round === 0) continue;
        const key = `${label}|${v.name}`;
        results.set(key, [...(results.get(key) ?? []), us]);
      }
    }
  }
  const mid = (label, v) => median(results.get(`${label}|${v.name}`));
  const rows = bodies.map(([label]) => [
    label,
    mid(label, builds[0]),
    mid(label, builds[1]),
    mid(label, builds[0]) - mid(label, builds[1]),
  ]);
  const header = ['body', `${builds[0].name} CPU µs`, `${builds[1].name} CPU µs`, 'difference µs'];
  console.log(table(header, rows));
  appendSection('Chat request validation: ChatRequestPipe against the hand parser', {
    method:
      `Method: \`node bench/chat-request.js\`: both builds loaded in one process, each body validated ${N} times ` +
      `per round, ${ROUNDS - 1} timed rounds after one warm-up, builds alternating; µs per request is the median ` +
      'round of CPU time (user + system) of the process. Every DTO of the new build is validated once before any chat ' +
      'request, as in a server that has served its other routes first. Both builds give the same answer for every body (checked first).',
    body: table(header, rows),
  });
}

main();
