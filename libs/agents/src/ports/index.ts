import type { DataPort } from './data';

export * from './data';

/**
 * What a run can reach besides the model: one optional port per kind of
 * resource (datasources, knowledge spaces, tool servers). The server
 * implements them; a role whose port is missing fails its step with a
 * reason that says so. This library never sees a driver, a socket or a
 * table: only these interfaces.
 */
export interface ResourcePorts {
  /** Datasources named by `database` resources (read-only queries, schemas). */
  data?: DataPort;
}
