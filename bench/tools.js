'use strict';
/**
 * Tool calls: Ensemble's tools service (argument check against the tool's
 * schema, the kept connection, result to Markdown, metrics) against a
 * direct call with the MCP SDK's Client to the same local server, over
 * Streamable HTTP (bench/mcp-server.js, its own process) and over stdio
 * (test/support/mcp-stdio-server.js, started by each side). Calls `echo`
 * one at a time, in alternating rounds; the first round of each is warm-up.
 * Bars: overhead ≤ 2 ms p50; 1 connection per server for all the calls.
 * Appends a section to bench/RESULTS.md.
 *
 *   node bench/tools.js            # CALLS=1000 per side and transport, ROUNDS=5
 */
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { ROOT, ensureBuild, httpGet } = require('./lib/procs');
const { percentile, performance } = require('./lib/client');
const { appendSection, table, bar, fmt } = require('./lib/report');

const CALLS = Number(process.env.CALLS || 1000);
const ROUNDS = Number(process.env.ROUNDS || 5);
const STDIO_SCRIPT = join(ROOT, 'test', 'support', 'mcp-stdio-server.js');

function startMcpServer() {
  const child = spawn(process.execPath, [join(__dirname, 'mcp-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (chunk) => {
      const match = /PORT (\d+)/.exec(String(chunk));
      if (match) resolve({ child, port: Number(match[1]) });
    });
  });
}

async function timed(n, call) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await call(i);
    times.push(performance.now() - start);
  }
  return times;
}

async function main() {
  ensureBuild((line) => console.log(line));
  const dist = join(ROOT, 'dist', 'apps', 'server', 'src');
  const { Logger } = require('@nestjs/common');
  Logger.overrideLogger(false); // the per-call log line is left out on both sides
  const { ToolsService } = require(join(dist, 'tools', 'tools.service.js'));
  const { MetricsService } = require(join(dist, 'observability', 'metrics.service.js'));

  const mcp = await startMcpServer();
  const url = `http://127.0.0.1:${mcp.port}/mcp`;
  const servers = [
    { name: 'http', transport: 'streamable_http', url, headers: {}, timeoutMs: 30000 },
    { name: 'stdio', transport: 'stdio', command: process.execPath, args: [STDIO_SCRIPT], env: {}, timeoutMs: 30000 },
  ];
  const service = new ToolsService({ tools: { servers }, logPrompts: false }, new MetricsService());
  const rows = [];
  const bars = [];
  try {
    for (const server of servers) {
      const direct = new Client({ name: 'bench', version: '1' });
      await direct.connect(
        server.transport === 'stdio'
          ? new StdioClientTransport({ command: server.command, args: server.args, stderr: 'ignore' })
          : new StreamableHTTPClientTransport(new URL(url)),
      );
      const [spec] = (
        await service.toolsFor([{ type: 'tool(mcp)', name: 'x', value: JSON.stringify({ server: server.name }) }])
      ).filter((t) => t.name === 'echo');
      const signal = new AbortController().signal;
      const perRound = Math.ceil(CALLS / (ROUNDS - 1));
      const times = { direct: [], ensemble: [] };
      let ensembleCalls = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const d = await timed(perRound, (i) => direct.callTool({ name: 'echo', arguments: { text: `hello ${i}` } }));
        const e = await timed(perRound, async (i) => {
          const outcome = await service.call(spec, { text: `hello ${i}` }, signal);
          if (outcome.status !== 'complete') throw new Error(`call failed: ${outcome.error}`);
        });
        ensembleCalls += perRound;
        if (round === 0) continue;
        times.direct.push(...d);
        times.ensemble.push(...e);
      }
      await direct.close();
      const p = (xs, q) => percentile(xs, q);
      const overhead = p(times.ensemble, 50) - p(times.direct, 50);
      const opened = service.connectionsOpened()[server.name];
      rows.push([
        server.transport,
        times.direct.length,
        p(times.direct, 50),
        p(times.direct, 99),
        p(times.ensemble, 50),
        p(times.ensemble, 99),
        overhead,
        `${opened} for ${ensembleCalls} calls`,
      ]);
      bars.push([`${server.transport}: overhead ≤ 2 ms p50`, `${fmt(overhead, 3)} ms`, bar(overhead <= 2)]);
      bars.push([`${server.transport}: one connection for ${ensembleCalls} calls`, String(opened), bar(opened === 1)]);
    }
    const stats = JSON.parse((await httpGet(mcp.port, '/_stats')).body);
    bars.push(['HTTP server: sessions opened (direct + Ensemble)', String(stats.sessions), bar(stats.sessions === 2)]);
  } finally {
    await service.onApplicationShutdown();
    mcp.child.kill('SIGTERM');
  }
  const results = table(
    [
      'transport',
      'calls measured',
      'direct p50 ms',
      'direct p99 ms',
      'Ensemble p50 ms',
      'Ensemble p99 ms',
      'overhead p50 ms',
      'Ensemble connections',
    ],
    rows,
  );
  const bars_ = table(['bar', 'figure', ''], bars);
  console.log(`${results}\n\n${bars_}`);
  appendSection('tools: MCP tool call overhead and kept connections', {
    method: [
      `\`node bench/tools.js\`: \`echo\` called one at a time, ${ROUNDS} alternating rounds of ${Math.ceil(CALLS / (ROUNDS - 1))} calls per side (the first round is warm-up, not counted),`,
      "directly with the MCP SDK's Client and through Ensemble's ToolsService (compiled, in the same process:",
      'schema check with Ajv, the kept connection, result to Markdown, the metric; its per-call log line is off on both sides).',
      'HTTP: bench/mcp-server.js in its own process (Streamable HTTP, sessions); stdio: test/support/mcp-stdio-server.js, one process per side.',
    ].join('\n'),
    body: `${results}\n\n${bars_}`,
  });
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
