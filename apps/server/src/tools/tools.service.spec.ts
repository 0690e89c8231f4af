/**
 * The tools service against real MCP servers (the test suite's, over
 * Streamable HTTP and stdio): log lines without arguments unless
 * LOG_PROMPTS, the tool list refreshed on the server's change notification,
 * the older SSE transport (declared, or fallen back to).
 */
import { Logger, type LoggerService } from '@nestjs/common';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  startMcpHttpServer,
  startMcpSseServer,
  type TestMcpHttpServer,
} from '../../../../test/support/mcp-http-server';
import type { AppConfig } from '../config/config';
import { MetricsService } from '../observability/metrics.service';
import type { HttpServerConfig, ToolServerConfig } from './tools-config';
import { ToolsService } from './tools.service';

const STDIO_SCRIPT = join(__dirname, '..', '..', '..', '..', 'test', 'support', 'mcp-stdio-server.js');
jest.setTimeout(30_000);

describe('ToolsService', () => {
  let mcp: TestMcpHttpServer;
  const logged: string[] = [];
  const capture: LoggerService = {
    log: (message: unknown) => void logged.push(String(message)),
    warn: (message: unknown) => void logged.push(String(message)),
    error: (message: unknown) => void logged.push(String(message)),
    debug: () => undefined,
  };
  const services: ToolsService[] = [];
  const service = (servers: ToolServerConfig[], logPrompts = false) => {
    const created = new ToolsService({ tools: { servers }, logPrompts } as unknown as AppConfig, new MetricsService());
    services.push(created);
    return created;
  };

  beforeAll(async () => {
    mcp = await startMcpHttpServer();
    Logger.overrideLogger(capture);
  });
  afterAll(async () => {
    for (const s of services) await s.onApplicationShutdown();
    await mcp.close();
    Logger.overrideLogger(new Logger());
  });

  const web = (): HttpServerConfig => ({
    name: 'web',
    transport: 'streamable_http',
    url: mcp.url,
    headers: {},
    timeoutMs: 5000,
  });

  it('logs each call without its arguments, and with them only when LOG_PROMPTS is set', async () => {
    for (const logPrompts of [false, true]) {
      const tools = service([web()], logPrompts);
      const [add] = (await tools.toolsFor([{ type: 'tool(mcp)', name: 'w', value: 'web' }])).filter(
        (t) => t.name === 'add',
      );
      logged.length = 0;
      const outcome = await tools.call(add, { a: 12345, b: 1 }, new AbortController().signal);
      expect(outcome).toEqual({ status: 'complete', result: '12346' });
      const line = logged.find((l) => l.startsWith('tool call '));
      expect(line).toMatch(/^tool call server=web tool=add outcome=complete \d+ms/);
      if (logPrompts) expect(line).toContain(' args={"a":12345,"b":1}');
      else expect(line).not.toContain('12345');
    }
  });

  it("refreshes a server's tool list when the server announces a change", async () => {
    const tools = service([
      { name: 'local', transport: 'stdio', command: process.execPath, args: [STDIO_SCRIPT], env: {}, timeoutMs: 5000 },
    ]);
    const names = async () =>
      (await tools.toolsFor([{ type: 'tool(mcp)', name: 'l', value: 'local' }])).map((t) => t.name);
    expect(await names()).not.toContain('extra');
    const grow = (await tools.toolsFor([{ type: 'tool(mcp)', name: 'l', value: 'local' }])).find(
      (t) => t.name === 'grow',
    );
    expect(await tools.call(grow!, {}, new AbortController().signal)).toEqual({ status: 'complete', result: 'grown' });
    for (let i = 0; i < 100 && !(await names()).includes('extra'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await names()).toContain('extra');
    expect(tools.connectionsOpened()).toEqual({ local: 1 });
  });

  it('speaks the older HTTP+SSE transport, declared or as the fallback of streamable_http', async () => {
    const legacy = await startMcpSseServer();
    try {
      const tools = service([
        { name: 'old', transport: 'sse', url: legacy.url, headers: {}, timeoutMs: 5000 },
        { name: 'guess', transport: 'streamable_http', url: legacy.url, headers: {}, timeoutMs: 5000 },
      ]);
      for (const server of ['old', 'guess']) {
        const echo = (await tools.toolsFor([{ type: 'tool(mcp)', name: 's', value: server }])).find(
          (t) => t.name === 'echo',
        );
        expect(await tools.call(echo!, { text: `via ${server}` }, new AbortController().signal)).toEqual({
          status: 'complete',
          result: `via ${server}`,
        });
      }
      expect(tools.states()).toEqual({ old: { state: 'connected' }, guess: { state: 'connected' } });
    } finally {
      await legacy.close();
    }
  });

  it('opens the connection again after it failed (the server restarted)', async () => {
    const first = await startMcpHttpServer('restarting');
    const port = Number(new URL(first.url).port);
    const tools = service([{ ...web(), name: 'restarting', url: first.url }]);
    const [echo] = (await tools.toolsFor([{ type: 'tool(mcp)', name: 'r', value: 'restarting' }])).filter(
      (t) => t.name === 'echo',
    );
    const signal = new AbortController().signal;
    expect(await tools.call(echo, { text: 'one' }, signal)).toEqual({ status: 'complete', result: 'one' });
    await first.close();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the client's pool notices the closed sockets
    const second = await startMcpHttpServer('restarting', port);
    try {
      // The old session is gone: that call fails, and the next one runs on a new connection.
      expect(await tools.call(echo, { text: 'two' }, signal)).toMatchObject({ status: 'failed' });
      expect(await tools.call(echo, { text: 'three' }, signal)).toEqual({ status: 'complete', result: 'three' });
      expect(tools.connectionsOpened()).toEqual({ restarting: 2 });
      expect(second.sessions()).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('lists a server that does not answer as connecting, without waiting for it', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const tools = service([{ ...web(), name: 'silent', url: `http://127.0.0.1:${port}/mcp` }]);
      const started = Date.now();
      expect(await tools.servers()).toEqual([
        { name: 'silent', transport: 'streamable_http', state: 'connecting', timeout_ms: 5000, tools: [] },
      ]);
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
