'use strict';
/**
 * Benchmark 3 — team runs. chat_app with an auto_plan app on an instant
 * upstream. The fake answers the Planner (its system prompt contains
 * "serial_number") with a plan of N steps for "AI Assistant", every other
 * call with a short answer, and records each request's duration (arrival →
 * response end). Sequential runs: Ensemble's time outside the LLM = run wall
 * time (request written → [DONE]) − Σ upstream request durations of that run.
 * Also the same calls made straight to the fake, one after another, as a
 * direct baseline; runs/s at 8 concurrent; then 1, 5 and 20 steps, and 0, 50
 * and 500 turns of history (rows inserted into conversation_runs).
 */
const { makeAgent, stream, runConcurrent, percentile, performance } = require('../lib/client');
const { startStack, AUTH } = require('../lib/stack');
const { table, bar } = require('../lib/report');
const { httpJson, cpuMs } = require('../lib/procs');

const ANSWER_TOKENS = 12;
const MAIN_RUNS = 40;
const SCALE_RUNS = 15;
/** Runs per history series (more than the step series: the differences measured are smaller). */
const HISTORY_RUNS = 30;
/**
 * Slopes below the resolution of a difference of two p50s are not told apart:
 * about 1 ms between series here, so 0.5 ms per step over 1→5 steps and
 * 0.02 ms per turn over 0→50 turns.
 */
const STEP_SLOPE_FLOOR_MS = 0.5;
const TURN_SLOPE_FLOOR_MS = 0.02;
const WARM_RUNS = 40;
const RATE = { concurrency: 8, total: 400, maxMs: 6000 };
const STEPS = [1, 3, 5, 20];
const HISTORY = [0, 50, 500];
const INPUT = 'Compare three ways to cache HTTP responses and recommend one.';

async function run({ log, profile }) {
  const stack = await startStack('team', { proxy: false, profile });
  try {
    await stack.fakeCtl.config({
      tokens: ANSWER_TOKENS,
      answerTokens: ANSWER_TOKENS,
      firstTokenDelayMs: 0,
      tokenDelayMs: 0,
      hold: false,
      planSteps: 3,
    });
    const port = stack.ensemble.port;
    const created = await httpJson(
      port,
      'POST',
      '/api/v2/serve/apps',
      { app_name: 'bench auto_plan', team_mode: 'auto_plan', details: [{ agent_name: 'AI Assistant' }] },
      AUTH,
    );
    if (created.status !== 201) throw new Error(`creating the app: ${created.status} ${created.text}`);
    const appCode = created.json.data.app_code;
    const reqBody = (convUid) =>
      JSON.stringify({
        model: 'fake-gpt',
        messages: [{ role: 'user', content: INPUT }],
        stream: true,
        chat_mode: 'chat_app',
        chat_param: appCode,
        ...(convUid ? { conv_uid: convUid } : {}),
      });
    const agent = makeAgent(RATE.concurrency);
    const oneRun = (convUid) =>
      stream({ port, path: '/api/v2/chat/completions', headers: AUTH, body: reqBody(convUid), agent });

    /** One measured run: wall, Σ upstream, outside. */
    const measured = async (convUid) => {
      await stack.fakeCtl.reset();
      const r = await oneRun(convUid);
      const st = await stack.fakeCtl.stats();
      const llm = st.durations.reduce((a, b) => a + b, 0);
      return { ok: r.ok, error: r.error, wall: r.ttlt, llm, outside: r.ttlt - llm, calls: st.count };
    };

    /** The same LLM calls straight to the fake, one after another (Planner, N steps, summary). */
    const directAgent = makeAgent(1);
    const direct = async (steps) => {
      const t0 = performance.now();
      const call = (system, user) =>
        stream({
          port: stack.fake.port,
          path: '/v1/chat/completions',
          agent: directAgent,
          body: {
            model: 'gpt-4o-mini',
            stream: true,
            stream_options: { include_usage: true },
            messages: [
              { role: 'system', content: system },
              { role: 'user', content: user },
            ],
          },
        });
      await call('You are the Planner. Reply with a JSON array like [{"serial_number": 1, ...}]', INPUT);
      for (let i = 1; i <= steps; i++) await call('You are AI Assistant.', `step ${i}: ${INPUT}`);
      await call('You are the Summarizer.', INPUT);
      return performance.now() - t0;
    };

    const series = async (label, n, convUids) => {
      const runs = [];
      for (let i = 0; i < n; i++) runs.push(await measured(convUids?.[i]));
      const ok = runs.filter((r) => r.ok);
      return {
        label,
        n: runs.length,
        errors: runs.length - ok.length,
        firstError: runs.find((r) => !r.ok)?.error,
        calls: percentile(
          ok.map((r) => r.calls),
          50,
        ),
        wall50: percentile(
          ok.map((r) => r.wall),
          50,
        ),
        llm50: percentile(
          ok.map((r) => r.llm),
          50,
        ),
        out50: percentile(
          ok.map((r) => r.outside),
          50,
        ),
        out99: percentile(
          ok.map((r) => r.outside),
          99,
        ),
      };
    };
    const directSeries = async (steps, n) => {
      const walls = [];
      for (let i = 0; i < n; i++) walls.push(await direct(steps));
      return percentile(walls, 50);
    };

    log('warm-up');
    stack.markMeasured();
    // Enough runs for V8 to optimise the run path before the first measured series.
    for (let i = 0; i < WARM_RUNS; i++) await oneRun();
    await directSeries(3, 5);

    log(`3 steps: ${MAIN_RUNS} sequential runs`);
    const main = await series('3 steps, no history', MAIN_RUNS);
    const direct3 = await directSeries(3, 20);

    log(`runs/s at ${RATE.concurrency} concurrent`);
    const cpu0 = cpuMs(stack.ensemble.pid);
    const rate = await runConcurrent({ ...RATE, fn: () => oneRun() });
    const cpuPerRun = (cpuMs(stack.ensemble.pid) - cpu0) / rate.results.length;
    const rateErrors = rate.results.filter((r) => !r.ok).length;
    const runsPerSec = rate.results.length / (rate.wallMs / 1000);

    const stepRows = [];
    for (const steps of STEPS) {
      log(`${steps} steps: ${SCALE_RUNS} runs`);
      await stack.fakeCtl.config({ planSteps: steps });
      const s = steps === 3 ? main : await series(`${steps} steps`, SCALE_RUNS);
      stepRows.push({ steps, s, direct: steps === 3 ? direct3 : await directSeries(steps, 8) });
    }
    await stack.fakeCtl.config({ planSteps: 3 });

    const histRows = [];
    for (const turns of HISTORY) {
      if (turns === 0) {
        histRows.push({ turns, s: main });
        continue;
      }
      log(`${turns} turns of history: ${HISTORY_RUNS} runs (one conversation each)`);
      const prefix = `bench-h${turns}-`;
      await stack.db.query(
        // Owned by the benchmark's key (the first of API_KEYS), as the conversations it continues must be.
        `INSERT INTO conversations (conv_uid, chat_mode, app_code, title, state, turns, owner_key)
         SELECT $1 || k, 'chat_app', $2, 'history', 'complete', $3, 'env:1' FROM generate_series(1, $4::int) k`,
        [prefix, appCode, turns, HISTORY_RUNS],
      );
      await stack.db.query(
        `INSERT INTO conversation_runs (id, conv_uid, turn, chat_mode, app_code, team_mode, input, answer, state, instance_id, finished_at)
         SELECT gen_random_uuid(), $1 || k, t, 'chat_app', $2, 'auto_plan',
                'Earlier question number ' || t || ' about caching HTTP responses in a service?',
                repeat('An earlier answer about HTTP caching, number ' || t || '. ', 4),
                'complete', 'bench-history', now()
         FROM generate_series(1, $4::int) k, generate_series(1, $3::int) t`,
        [prefix, appCode, turns, HISTORY_RUNS],
      );
      histRows.push({
        turns,
        s: await series(
          `${turns} turns`,
          HISTORY_RUNS,
          Array.from({ length: HISTORY_RUNS }, (_, i) => `${prefix}${i + 1}`),
        ),
      });
    }
    agent.destroy();
    directAgent.destroy();

    const all = [main, ...stepRows.map((r) => r.s), ...histRows.map((r) => r.s)];
    const errors = all.reduce((s, x) => s + x.errors, 0) + rateErrors;
    const firstError = all.find((x) => x.firstError)?.firstError ?? rate.results.find((r) => !r.ok)?.error;

    const s1 = stepRows.find((r) => r.steps === 1).s.out50;
    const s5 = stepRows.find((r) => r.steps === 5).s.out50;
    const s20 = stepRows.find((r) => r.steps === 20).s.out50;
    const perStepLow = (s5 - s1) / 4;
    const perStepHigh = (s20 - s5) / 15;
    const linearSteps = perStepHigh <= 2 * Math.max(perStepLow, STEP_SLOPE_FLOOR_MS);
    const h0 = histRows[0].s.out50;
    const h50 = histRows[1].s.out50;
    const h500 = histRows[2].s.out50;
    const perTurn50 = (h50 - h0) / 50;
    // 500 turns: Ensemble replays at most the last 100 (MAX_HISTORY_TURNS), so linear means ≤ 2× the 50-turn slope per replayed turn
    const perTurn500 = (h500 - h0) / 100;
    const linearHistory = perTurn500 <= 2 * Math.max(perTurn50, TURN_SLOPE_FLOOR_MS);

    const bars = [
      [
        '3 steps: ≤ 15 ms p50 outside the LLM',
        `${main.out50.toFixed(2)} ms (p99 ${main.out99.toFixed(2)} ms)`,
        bar(main.out50 <= 15),
      ],
      ['linear in steps', `${perStepLow.toFixed(2)} → ${perStepHigh.toFixed(2)} ms per step`, bar(linearSteps)],
      [
        'linear in history',
        `${perTurn50.toFixed(3)} → ${perTurn500.toFixed(3)} ms per replayed turn`,
        bar(linearHistory),
      ],
      ['errors', String(errors) + (firstError ? ` (first: ${firstError})` : ''), bar(errors === 0)],
    ];
    const body = [
      '### Runs',
      '',
      table(
        [
          'series',
          'runs',
          'errors',
          'LLM calls',
          'wall p50 ms',
          'Σ upstream p50 ms',
          'outside LLM p50 ms',
          'outside LLM p99 ms',
          'direct calls p50 ms',
          'wall − direct ms',
        ],
        [
          ...stepRows.map(({ steps, s, direct: d }) => [
            s.label,
            s.n,
            s.errors,
            s.calls,
            s.wall50,
            s.llm50,
            s.out50,
            s.out99,
            d,
            s.wall50 - d,
          ]),
          ...histRows
            .filter((r) => r.turns > 0)
            .map(({ s }) => [s.label, s.n, s.errors, s.calls, s.wall50, s.llm50, s.out50, s.out99, '–', '–']),
        ],
      ),
      '',
      table(
        ['throughput', 'figure'],
        [
          [
            `3-step runs/s at ${RATE.concurrency} concurrent`,
            `${runsPerSec.toFixed(1)} (${rate.results.length} runs, ${rateErrors} errors)`,
          ],
          ['Ensemble CPU per 3-step run', `${cpuPerRun.toFixed(1)} ms`],
          ['outside-LLM cost per extra step (1→5, 5→20)', `${perStepLow.toFixed(2)} ms, ${perStepHigh.toFixed(2)} ms`],
          [
            'outside-LLM cost per turn of history (0→50, 0→500 of which 100 replayed)',
            `${perTurn50.toFixed(3)} ms, ${perTurn500.toFixed(3)} ms`,
          ],
        ],
      ),
      '',
      '### Bars',
      '',
      table(['bar', 'figure', 'result'], bars),
    ].join('\n');
    const method = `Method: app created through POST /api/v2/serve/apps (auto_plan, one detail "AI Assistant"); a plan of N steps for "AI Assistant" with no dependencies, so a run makes N+2 LLM calls (Planner, N steps, the Summarizer's final answer). Instant upstream: each reply (${ANSWER_TOKENS} tokens, or the plan JSON in 8-character chunks) in one write. chat_app, \`stream: true\`, vis on, incremental. Sequential runs (${MAIN_RUNS} for 3 steps, ${SCALE_RUNS} per other step series, ${HISTORY_RUNS} per history series, ${WARM_RUNS} warm-up runs first): outside LLM = wall (request written → [DONE], so every Postgres write of the run is included: [DONE] goes out after the recorder's flush) − Σ durations the fake measured for the run's upstream requests (arrival → response end). "direct calls" = the same N+2 streamed requests sent straight to the fake one after another by the client (median of 8–20). History: conversations of 50 or 500 completed turns inserted by SQL (one conversation per run, so history does not grow during a series); Ensemble replays at most the last 100 turns (MAX_HISTORY_TURNS in conversations.service.ts). Linear: the per-step (per-replayed-turn) cost of the larger series at most 2× that of the smaller one, slopes under the resolution of a difference of two p50s (about 1 ms: ${STEP_SLOPE_FLOOR_MS} ms per step, ${TURN_SLOPE_FLOOR_MS} ms per turn) counted as that resolution. runs/s: ${RATE.concurrency} concurrent clients for ${RATE.maxMs / 1000} s (bounded by ${RATE.total} runs).`;
    return {
      title: 'Benchmark 3: team runs (auto_plan, instant upstream)',
      method,
      body,
      profileDir: stack.profileDir,
      skipMs: stack.skipMs,
      bars,
    };
  } finally {
    await stack.stop();
  }
}

module.exports = { name: 'team', run };
