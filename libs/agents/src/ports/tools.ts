import type { AppResource } from '../types';

/** A tool an agent may call: its server, name, description and JSON Schema of its arguments. */
export interface ToolSpec {
  server: string;
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/**
 * The outcome of one tool call. `complete`: the tool's result as Markdown.
 * `failed`: the reason, to feed back to the model (arguments that do not
 * match the schema, the tool's own error result, a timeout, a server that
 * cannot be reached); `result` holds what the tool said, if it said anything.
 */
export type ToolCallOutcome =
  | { status: 'complete'; result: string }
  | { status: 'failed'; error: string; result?: string };

/** MCP tool servers as a run sees them (implemented by the server's tools module). */
export interface ToolsPort {
  /** The tools an agent's resources give it (its `tool(mcp)` resources), in order. */
  toolsFor(resources: readonly AppResource[]): Promise<ToolSpec[]>;
  /**
   * Validates `args` against the tool's schema, then calls it with the
   * server's timeout; `signal` (the run's) stops a call in flight. Never
   * rejects for a failure of the call itself: that is a `failed` outcome.
   */
  call(tool: ToolSpec, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolCallOutcome>;
}
