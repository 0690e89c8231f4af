import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS shared with the stdio script
const { createTestMcpServer } = require('./mcp-test-tools') as {
  createTestMcpServer(name: string, events: McpEvent[]): { connect(t: unknown): Promise<void>; close(): Promise<void> };
};

/** What a test server saw: a tool call, or a sleep's start, end or cancellation. */
export interface McpEvent {
  tool: string;
  state?: 'started' | 'done' | 'cancelled';
}

export interface TestMcpHttpServer {
  /** e.g. http://127.0.0.1:PORT/mcp */
  url: string;
  events: McpEvent[];
  /** HTTP requests received (any method), to count connections and sessions. */
  requests: { method: string; session?: string }[];
  /** Header values of the last request, lower-cased names. */
  lastHeaders(): IncomingMessage['headers'];
  close(): Promise<void>;
}

/**
 * A test MCP server over Streamable HTTP on a loopback port, with sessions
 * (as the SDK's stateful example): an `initialize` POST opens a session with
 * its own McpServer; later requests carry `mcp-session-id`. `sessions` counts
 * the sessions opened (one per client connection).
 */
export async function startMcpHttpServer(
  name = 'http-test',
  port = 0,
): Promise<TestMcpHttpServer & { sessions(): number }> {
  const events: McpEvent[] = [];
  const requests: TestMcpHttpServer['requests'] = [];
  const transports = new Map<string, StreamableHTTPServerTransport>();
  let opened = 0;
  let headers: IncomingMessage['headers'] = {};
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    headers = req.headers;
    const session = req.headers['mcp-session-id'] as string | undefined;
    requests.push({ method: req.method ?? '', session });
    const known = session ? transports.get(session) : undefined;
    if (known) return known.handleRequest(req, res);
    if (req.method !== 'POST' || session) {
      res.writeHead(session ? 404 : 405).end();
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        opened++;
        transports.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) transports.delete(transport.sessionId);
    };
    await createTestMcpServer(name, events).connect(transport);
    await transport.handleRequest(req, res);
  };
  const http: Server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const { port: listening } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${listening}/mcp`,
    events,
    requests,
    sessions: () => opened,
    lastHeaders: () => headers,
    close: async () => {
      for (const transport of transports.values()) await transport.close();
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
    },
  };
}

/**
 * A test MCP server that speaks only the older HTTP+SSE transport (the
 * SDK's SSEServerTransport): `GET <url>` opens the event stream, messages
 * are POSTed to `/messages?sessionId=…`; a POST to `<url>` is refused (405),
 * as such servers answer a Streamable HTTP client.
 */
export async function startMcpSseServer(name = 'sse-test'): Promise<{ url: string; close(): Promise<void> }> {
  const transports = new Map<string, SSEServerTransport>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const transport = new SSEServerTransport('/messages', res);
      transports.set(transport.sessionId, transport);
      res.on('close', () => transports.delete(transport.sessionId));
      await createTestMcpServer(name, []).connect(transport);
      return;
    }
    const transport = transports.get(url.searchParams.get('sessionId') ?? '');
    if (req.method === 'POST' && url.pathname === '/messages' && transport) {
      await transport.handlePostMessage(req, res);
      return;
    }
    res.writeHead(405).end();
  };
  const http: Server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sse`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
