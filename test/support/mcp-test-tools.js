/**
 * The tools of the test MCP servers (the SDK's McpServer): echo, add, fail
 * (an isError result), sleep (for timeouts and cancellation), big (large
 * text), pid and crash (a stdio server's process) and grow (adds a tool).
 * Plain CommonJS so the stdio server script runs under node directly.
 * `events` records what the server saw: calls, and cancellations it observed
 * through the request's abort signal.
 */
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { z } = require('zod');

function createTestMcpServer(name, events = []) {
  const server = new McpServer({ name, version: '1.0.0' });
  const text = (t) => ({ content: [{ type: 'text', text: t }] });
  server.registerTool(
    'echo',
    { description: 'Returns the given text.', inputSchema: { text: z.string() } },
    async ({ text: t }) => {
      events.push({ tool: 'echo' });
      return text(t);
    },
  );
  server.registerTool(
    'add',
    { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => {
      events.push({ tool: 'add' });
      return text(String(a + b));
    },
  );
  server.registerTool(
    'fail',
    { description: 'Always fails with the given reason.', inputSchema: { reason: z.string() } },
    async ({ reason }) => {
      events.push({ tool: 'fail' });
      return { ...text(`failed: ${reason}`), isError: true };
    },
  );
  server.registerTool(
    'sleep',
    { description: 'Waits ms milliseconds, then answers.', inputSchema: { ms: z.number().int().min(0) } },
    async ({ ms }, extra) => {
      events.push({ tool: 'sleep', state: 'started' });
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          events.push({ tool: 'sleep', state: 'cancelled' });
          resolve();
        });
      });
      if (!extra.signal.aborted) events.push({ tool: 'sleep', state: 'done' });
      return text(`slept ${ms} ms`);
    },
  );
  server.registerTool(
    'big',
    { description: 'Returns a large text of n characters.', inputSchema: { n: z.number().int().min(1) } },
    async ({ n }) => {
      events.push({ tool: 'big' });
      return text('x'.repeat(n));
    },
  );
  server.registerTool('pid', { description: "Returns the server process's id.", inputSchema: {} }, async () =>
    text(String(process.pid)),
  );
  server.registerTool('crash', { description: 'Exits the server process at once.', inputSchema: {} }, async () =>
    process.exit(3),
  );
  server.registerTool(
    'grow',
    { description: 'Adds the tool "extra" (the server then announces that its tool list changed).', inputSchema: {} },
    async () => {
      server.registerTool('extra', { description: 'Added later.', inputSchema: {} }, async () => text('extra'));
      return text('grown');
    },
  );
  return server;
}

module.exports = { createTestMcpServer };
