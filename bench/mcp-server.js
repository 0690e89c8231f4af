'use strict';
/**
 * The test MCP tools (test/support/mcp-test-tools.js) over Streamable HTTP
 * with sessions, for bench/tools.js: prints `PORT <n>` when listening;
 * `GET /_stats` answers `{ sessions }` (client connections opened).
 */
const { randomUUID } = require('node:crypto');
const { createServer } = require('node:http');
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const { createTestMcpServer } = require('../test/support/mcp-test-tools');

const transports = new Map();
let sessions = 0;

async function handle(req, res) {
  if (req.method === 'GET' && req.url === '/_stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sessions }));
    return;
  }
  const id = req.headers['mcp-session-id'];
  if (id && transports.has(id)) return transports.get(id).handleRequest(req, res);
  if (req.method !== 'POST' || id) return void res.writeHead(id ? 404 : 405).end();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (sid) => {
      sessions++;
      transports.set(sid, transport);
    },
  });
  transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
  await createTestMcpServer('bench').connect(transport);
  await transport.handleRequest(req, res);
}

const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
