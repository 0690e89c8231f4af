/** What `GET /api/v2/serve/tools` sends: the declared tool servers, their state and their tools. */
import type { ConnectionState } from './mcp-connection';

export interface ToolView {
  name: string;
  description: string;
  /** JSON Schema of the tool's arguments. */
  input_schema: Record<string, unknown>;
}

export interface ToolServerView {
  /** The name in the tools file; what a tool(mcp) resource names. */
  name: string;
  transport: string;
  state: ConnectionState;
  /** Why the last connection attempt failed. */
  error?: string;
  /** Per-call timeout. */
  timeout_ms: number;
  /** The tools offered (the file's allow-list applied). */
  tools: ToolView[];
}
