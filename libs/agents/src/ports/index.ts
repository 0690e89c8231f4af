/**
 * What a run can reach besides the model: one optional port per kind of
 * resource (datasources, knowledge spaces, tool servers). The server
 * implements them; a role whose port is missing fails its step with a
 * reason that says so. This library never sees a driver, a socket or a
 * table: only these interfaces.
 */
import type { DataPort } from './data';
import type { KnowledgePort } from './knowledge';
import type { ToolsPort } from './tools';

export * from './data';
export * from './knowledge';
export type { ToolCallOutcome, ToolSpec, ToolsPort } from './tools';

export interface ResourcePorts {
  /** Datasources named by `database` resources (read-only queries, schemas). */
  data?: DataPort;
  /** Retrieval from knowledge spaces (`knowledge` resources). */
  knowledge?: KnowledgePort;
  /** MCP tool servers (`tool(mcp)` resources, the ToolExpert). */
  tools?: ToolsPort;
}
