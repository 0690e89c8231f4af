'use strict';
/**
 * The run-write path alone, in one process, for an A/B of two compiled
 * builds: ConversationsService and its RunRecorder storing chat_normal turns
 * (open, the answer, the end) and 3-step auto_plan turns (open, plan, each
 * step's start, message and end, the summary, the end) in a fresh migrated
 * database, CONCURRENCY runs at a time. Both builds are loaded side by side
 * and alternate phase by phase; prints, per build and kind, the median CPU
 * of this process per run and runs/s. No HTTP, no LLM: only what recording a
 * run costs the server. Writes nothing to RESULTS.md.
 *
 *   node bench/run-writes.js [new build dir] [old build dir]
 *   (defaults: dist, bench/.tmp/before; each a `nest build` output folder)
 */
const { join, resolve } = require('node:path');
const { randomUUID } = require('node:crypto');
const { createDatabase, dropAll } = require('./lib/db');

const ROOT = resolve(__dirname, '..');
const CONCURRENCY = Number(process.env.CONCURRENCY || 16);
const RUNS = Number(process.env.RUNS || 600);
const ROUNDS = Number(process.env.ROUNDS || 5); // the first is warm-up

const lock = { instanceId: randomUUID(), isDead: () => Promise.resolve(false) };

/** A build's ConversationsService on `url`: the new wiring (Sql on PgPool) when the build has it, else the old one. */
async function serviceOf(dir, url) {
  const src = (p) => join(resolve(ROOT, dir), 'apps', 'server', 'src', p);
  const { DataSource } = require('typeorm');
  const { dataSourceOptions } = require(src('database/data-source.js'));
  const { ConversationsService } = require(src('conversations/conversations.service.js'));
  let pgPool;
  try {
    pgPool = new (require(src('database/pg-pool.js')).PgPool)();
  } catch {
    pgPool = undefined;
  }
  const ds = await new DataSource(dataSourceOptions(url, 10, undefined, pgPool?.driver)).initialize();
  if (!pgPool) return { service: new ConversationsService(ds, lock), ds };
  const { Sql } = require(src('database/sql.js'));
  const { RunsRepository } = require(src('conversations/runs.repository.js'));
  return { service: new ConversationsService(new RunsRepository(new Sql(pgPool)), lock), ds };
}

const tick = () => new Promise((r) => setImmediate(r));
const usage = { inputTokens: 10, outputTokens: 20, totalTokens: 30 };
const turn = (chatMode) => ({
  convUid: randomUUID(),
  ownerKey: 'bench-key',
  chatMode,
  appCode: chatMode === 'chat_app' ? 'bench-app' : null,
  teamMode: chatMode === 'chat_app' ? 'auto_plan' : null,
  userName: null,
  sysCode: null,
  input: 'What is AWEL?',
  model: 'fake-gpt',
});

async function normalRun(service) {
  const recorder = service.openFresh(turn('chat_normal'));
  await recorder.opened;
  await tick();
  const text = 'AWEL is a workflow language. '.repeat(8);
  recorder.message({
    round: 1,
    stepNum: null,
    sender: 'assistant',
    receiver: 'Human',
    model: 'fake-gpt',
    content: text,
    success: true,
    usage,
  });
  recorder.end({ state: 'complete', answer: text, usage, model: 'fake-gpt' });
  await recorder.flush();
}

async function teamRun(service) {
  const recorder = service.openFresh(turn('chat_app'));
  await recorder.opened;
  const message = (round, num, sender) => ({
    type: 'message-done',
    round,
    num,
    sender,
    receiver: 'Human',
    model: 'fake-gpt',
    content: `${sender} says something useful. `.repeat(6),
    success: true,
    usage,
  });
  const steps = [1, 2, 3].map((num) => ({ num, title: `step ${num}`, agent: 'AI Assistant', rely: [] }));
  recorder.record(message(1, null, 'Planner'));
  recorder.record({ type: 'plan-made', steps });
  await tick();
  for (const { num } of steps) {
    recorder.record({ type: 'step-started', num });
    await tick();
    recorder.record(message(num + 1, num, 'AI Assistant'));
    recorder.record({ type: 'step-done', num, result: `result ${num}` });
    await tick();
  }
  recorder.record(message(5, null, 'Summarizer'));
  recorder.record({ type: 'run-done', answer: 'done', usage });
  await recorder.flush();
}

/** `RUNS` runs, `CONCURRENCY` at a time: CPU ms of this process per run, runs/s. */
async function phase(service, run) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < RUNS) await run(service);
    }),
  );
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { cpuMsPerRun: (cpu.user + cpu.system) / 1000 / RUNS, runsPerS: RUNS / wallS };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const builds = [process.argv[2] || 'dist', process.argv[3] || 'bench/.tmp/before'];
  const db = await createDatabase('runwrites');
  const { runMigrations } = require(join(resolve(ROOT, builds[0]), 'apps/server/src/database/data-source.js'));
  const targets = [];
  for (const dir of builds) targets.push({ dir, ...(await serviceOf(dir, db.url)) });
  await runMigrations(targets[0].ds);
  const results = {};
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which build goes first.
      const order = round % 2 ? [...targets].reverse() : targets;
      for (const t of order) {
        for (const [kind, run] of [
          ['chat_normal', normalRun],
          ['auto_plan 3 steps', teamRun],
        ]) {
          const r = await phase(t.service, run);
          if (round === 0) continue;
          const key = `${t.dir} | ${kind}`;
          (results[key] ??= []).push(r);
        }
      }
      await db.query('TRUNCATE conversations CASCADE');
    }
  } finally {
    for (const t of targets) await t.ds.destroy();
    await dropAll();
  }
  console.log(`${RUNS} runs per phase, ${CONCURRENCY} at a time, ${ROUNDS - 1} measured rounds per build and kind`);
  console.log('| build | kind | CPU ms/run (median) | CPU ms/run (each round) | runs/s (median) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [key, rs] of Object.entries(results)) {
    const cpu = rs.map((r) => r.cpuMsPerRun);
    console.log(
      `| ${key} | ${median(cpu).toFixed(3)} | ${cpu.map((c) => c.toFixed(3)).join(', ')} | ${median(rs.map((r) => r.runsPerS)).toFixed(0)} |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
