import type { ToolServerConfig } from './tools-config';
import { isRecord } from '@ensemble/llm';

/** Resource types that name MCP tools: Ensemble's, and DB-GPT's (whose value is a server URL). */
export const TOOL_RESOURCE_TYPES = ['tool(mcp)', 'tool(mcp(sse))'] as const;

export function isToolResource(type: string): boolean {
  return (TOOL_RESOURCE_TYPES as readonly string[]).includes(type);
}

/** A `tool(mcp)` resource resolved against the tools file: a declared server and the tools it names. */
export interface ToolResourceRef {
  server: string;
  /** undefined: every tool the server offers. */
  tools?: string[];
}

/**
 * Reads a tool resource's `value`: `{"server": "<name>", "tools": [...]}` or
 * `"<name>"` for `tool(mcp)`; for DB-GPT's `tool(mcp(sse))`,
 * `{"mcp_servers": "<url>"}` or the URL, accepted only when it is the URL of
 * a declared server. Returns the reason when the value is not acceptable.
 */
export function parseToolResource(
  type: string,
  value: string,
  servers: readonly ToolServerConfig[],
): ToolResourceRef | { error: string } {
  const parsed = parseValue(value);
  if (type === 'tool(mcp(sse))') {
    const url = typeof parsed === 'string' ? parsed : isRecord(parsed) ? parsed.mcp_servers : undefined;
    if (typeof url !== 'string' || !url.trim()) return { error: 'value must be {"mcp_servers": "<url>"} or the URL' };
    const server = servers.find((s) => s.transport !== 'stdio' && sameUrl(s.url, url.trim()));
    if (!server) return { error: `${JSON.stringify(url)} is not the URL of a tool server declared in the tools file` };
    return { server: server.name };
  }
  const name = typeof parsed === 'string' ? parsed : isRecord(parsed) ? parsed.server : undefined;
  if (typeof name !== 'string' || !name.trim()) {
    return { error: 'value must be {"server": "<name>", "tools": ["<tool>", ...]} or the server name' };
  }
  if (!servers.some((s) => s.name === name)) {
    return { error: `${JSON.stringify(name)} is not a tool server declared in the tools file` };
  }
  const tools = isRecord(parsed) ? parsed.tools : undefined;
  if (tools === undefined) return { server: name };
  if (!Array.isArray(tools) || tools.length === 0 || !tools.every((t) => typeof t === 'string' && t)) {
    return { error: 'tools must be a non-empty list of tool names' };
  }
  return { server: name, tools: tools as string[] };
}

function parseValue(value: string): unknown {
  const trimmed = value.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('"')) return trimmed;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}
