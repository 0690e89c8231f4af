/**
 * What a run can reach besides the model: one optional port per kind of
 * resource (datasources, knowledge spaces, tool servers). The server
 * implements them; a role whose port is missing fails its step with a
 * reason that says so. This library never sees a driver, a socket or a
 * table: only these interfaces.
 */
import type { KnowledgePort } from './knowledge';

export * from './knowledge';

export interface ResourcePorts {
  /** Retrieval from knowledge spaces (`knowledge` resources). */
  knowledge?: KnowledgePort;
}
