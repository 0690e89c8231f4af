import { Logger } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  McpError,
  ToolListChangedNotificationSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { ToolServerConfig } from './tools-config';

/** A tool as a server lists it (after the file's allow-list). */
export interface McpTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** `idle`: never opened (lazy); `connected`; `unreachable`: the last attempt failed (retried on next use). */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'unreachable';

/** How long a server's tool list is kept before it is listed again (besides its change notifications). */
export const TOOL_LIST_TTL_MS = 5 * 60_000;

/** How long opening a connection (a stdio server's start included) and listing tools may take. */
export const CONNECT_TIMEOUT_MS = 30_000;

const CLIENT_INFO = { name: 'ensemble', version: '0.1.0' };

/**
 * One declared MCP server: a single client connection, opened on first use,
 * kept and shared by every run, and opened again on the next use after it
 * closed or failed. A stdio server is a child process Ensemble starts; when
 * it exits (crash), the next use starts it again. The tool list is cached
 * and refreshed on the server's `tools/list_changed` or after a TTL.
 */
export class McpConnection {
  private client?: Client;
  private connecting?: Promise<Client>;
  private tools?: { list: McpTool[]; at: number };
  private listing?: Promise<McpTool[]>;
  private lastError?: string;
  private closed = false;
  /** Connections opened so far (1 while a connection lives; more after failures). */
  opened = 0;
  private readonly logger: Logger;

  constructor(readonly config: ToolServerConfig) {
    this.logger = new Logger(`Tools:${config.name}`);
  }

  get state(): ConnectionState {
    if (this.client) return 'connected';
    if (this.connecting) return 'connecting';
    return this.lastError ? 'unreachable' : 'idle';
  }

  /** Why the last connection attempt failed, if it did (no secrets: transport and error kind). */
  get error(): string | undefined {
    return this.lastError;
  }

  /** The tools offered (allow-list applied), from the cache when fresh. */
  async listTools(): Promise<McpTool[]> {
    if (this.tools && Date.now() - this.tools.at < TOOL_LIST_TTL_MS && this.client) return this.tools.list;
    this.listing ??= this.fetchTools().finally(() => (this.listing = undefined));
    return this.listing;
  }

  /** The cached tool list, without contacting the server. */
  cachedTools(): McpTool[] | undefined {
    return this.tools?.list;
  }

  /** Calls a tool with the server's timeout and `signal` (an abort sends the server a cancellation). */
  async callTool(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> {
    const client = await this.connect();
    // A signal of the call's own, linked to the run's: the SDK's listeners go away with the call.
    const call = new AbortController();
    const onAbort = () => call.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      return (await client.callTool({ name, arguments: args }, undefined, {
        signal: call.signal,
        timeout: this.config.timeoutMs,
      })) as CallToolResult;
    } catch (error) {
      // The connection failed (not the tool, not a timeout or a cancel): drop it, the next use opens a new one.
      if (!call.signal.aborted && isConnectionFailure(error)) this.drop(client);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the connection (stops a stdio server's process); later uses fail. */
  async close(): Promise<void> {
    this.closed = true;
    // A connection still opening is closed once it is open, without holding the shutdown up.
    void this.connecting?.then(
      (opening) => opening.close(),
      () => undefined,
    );
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }

  /** Forgets a client whose connection failed, and closes it. */
  private drop(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.tools = undefined;
    this.logger.warn('connection failed; it is opened again on next use');
    void client.close().catch(() => undefined);
  }

  private async fetchTools(): Promise<McpTool[]> {
    const client = await this.connect();
    const listed: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: CONNECT_TIMEOUT_MS });
      for (const tool of page.tools) {
        listed.push({
          name: tool.name,
          description: tool.description ?? '',
          inputSchema: tool.inputSchema,
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    const allow = this.config.allow;
    const list = allow ? listed.filter((tool) => allow.includes(tool.name)) : listed;
    this.tools = { list, at: Date.now() };
    return list;
  }

  /** The open client, opening one (once, however many callers wait) when there is none. */
  private connect(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error('the tools service is shutting down'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().then(
      (client) => {
        this.connecting = undefined;
        this.client = client;
        this.lastError = undefined;
        return client;
      },
      (error: unknown) => {
        this.connecting = undefined;
        this.lastError = describeError(error);
        this.logger.warn(`cannot connect (${this.config.transport}): ${this.lastError}`);
        throw new Error(`the tool server "${this.config.name}" cannot be reached`);
      },
    );
    return this.connecting;
  }

  private async open(): Promise<Client> {
    const config = this.config;
    if (config.transport === 'stdio') {
      return this.attach(
        new StdioClientTransport({
          command: config.command,
          args: config.args,
          env: config.env,
          ...(config.cwd && { cwd: config.cwd }),
          stderr: 'ignore',
        }),
      );
    }
    const url = new URL(config.url);
    const requestInit = { headers: config.headers };
    if (config.transport === 'sse') return this.attach(new SSEClientTransport(url, { requestInit }));
    const streamable = () => this.attach(new StreamableHTTPClientTransport(url, { requestInit }));
    try {
      // A socket the server closed meanwhile (kept alive from an earlier connection) fails once: try again.
      return await streamable().catch((error: unknown) => {
        if (error instanceof TypeError) return streamable();
        throw error;
      });
    } catch (error) {
      // A server that only speaks the older HTTP+SSE transport refuses the POST: try that.
      this.logger.debug(`Streamable HTTP failed (${describeError(error)}), trying SSE`);
      return this.attach(new SSEClientTransport(url, { requestInit }));
    }
  }

  private async attach(transport: Transport): Promise<Client> {
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    client.onclose = () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.tools = undefined;
      if (!this.closed) this.logger.warn('connection closed; it is opened again on next use');
    };
    client.onerror = (error) => this.logger.debug(`transport error: ${describeError(error)}`);
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      this.tools = undefined;
      void this.listTools().catch(() => undefined);
    });
    this.opened++;
    try {
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
    return client;
  }
}

/** An error of the connection itself: anything but an MCP error answer, or the connection closing. */
function isConnectionFailure(error: unknown): boolean {
  return !(error instanceof McpError) || error.code === (ErrorCode.ConnectionClosed as number);
}

/** A short description of a connection error, without URLs' credentials or headers. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
