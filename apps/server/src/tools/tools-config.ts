/**
 * The tools file (`TOOLS_FILE`): the MCP servers the operator declares. Apps
 * may only name servers listed here; no API call introduces a new one.
 * Validated strictly at boot by the DTOs of `dto/tools-file.dto.ts`, every
 * problem named with the path of the key at fault (`servers[2].url`).
 */
import { checkDto, type Env, isRecord, readJsonFile } from '@ensemble/llm';
import { HttpServerDto, StdioServerDto, ToolServerDto, ToolsFileDto } from './dto/tools-file.dto';

export { TOOL_TRANSPORTS, type ToolTransport } from './dto/tools-file.dto';

/** Default per-call timeout of a server's tools. */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

interface ServerBase {
  name: string;
  /** Only these tools are offered; undefined: every tool the server lists. */
  allow?: string[];
  /** Per-call timeout. */
  timeoutMs: number;
}

/** A server Ensemble starts as a child process and talks to over stdin/stdout. */
export interface StdioServerConfig extends ServerBase {
  transport: 'stdio';
  command: string;
  args: string[];
  /** Working directory of the process; undefined: the server's own. */
  cwd?: string;
  /** Variables passed to the process: name → value, read from Ensemble's environment at load time. */
  env: Record<string, string>;
}

/** A server reached over HTTP (Streamable HTTP, or the older SSE transport). */
export interface HttpServerConfig extends ServerBase {
  transport: 'streamable_http' | 'sse';
  url: string;
  /** Header name → value, read from the environment variables the file names. Never log them. */
  headers: Record<string, string>;
}

export type ToolServerConfig = StdioServerConfig | HttpServerConfig;

export interface ToolsConfig {
  servers: ToolServerConfig[];
  /** Path of the tools file; undefined when none was given. */
  source?: string;
}

/** The tools file is invalid; `problems` lists each one. */
export class ToolsConfigError extends Error {
  override readonly name = 'ToolsConfigError';

  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid tools file ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads and validates the tools file at `path`; without a path there are no tool servers. */
export function loadToolsConfig(path: string | undefined, env: Env = process.env): ToolsConfig {
  if (!path) return { servers: [] };
  const raw = readJsonFile(path, (problems) => new ToolsConfigError(path, problems));
  return parseToolsConfig(raw, env, path);
}

/** Validates the parsed content of a tools file; `source` names it in errors. */
export function parseToolsConfig(raw: unknown, env: Env = process.env, source = 'tools file'): ToolsConfig {
  if (!isRecord(raw)) throw new ToolsConfigError(source, ['the top level must be a JSON object']);
  const { problems } = checkDto(ToolsFileDto, raw);
  // Without a list there is nothing more to check (the DTO has said why).
  if (!Array.isArray(raw.servers)) throw new ToolsConfigError(source, problems);
  const servers: ToolServerConfig[] = [];
  const firstIndexOf = new Map<string, number>();
  raw.servers.forEach((entry: unknown, index: number) => {
    const where = `servers[${index}]`;
    const checked = checkServer(entry, where, env);
    problems.push(...checked.problems);
    if (!checked.server) return;
    const seen = firstIndexOf.get(checked.server.name);
    if (seen !== undefined) {
      problems.push(`${where}.name ${JSON.stringify(checked.server.name)} is also the name of servers[${seen}]`);
      return;
    }
    firstIndexOf.set(checked.server.name, index);
    servers.push(checked.server);
  });
  if (problems.length > 0) throw new ToolsConfigError(source, problems);
  return { servers, source };
}

/** Checks one entry of `servers` as the class its `transport` takes, and converts it. */
function checkServer(entry: unknown, where: string, env: Env): { server?: ToolServerConfig; problems: string[] } {
  if (!isRecord(entry)) return { problems: [`${where} must be an object`] };
  if (entry.transport === 'stdio') {
    const { dto, problems, faultAt } = checkDto(StdioServerDto, entry, where);
    const vars: Record<string, string> = {};
    if (!faultAt('env')) {
      for (const name of dto.env ?? []) {
        const value = env[name];
        if (value === undefined) problems.push(`${where}.env: the variable ${name} is not set`);
        else vars[name] = value;
      }
    }
    if (problems.length > 0) return { problems };
    return {
      problems,
      server: {
        ...base(dto),
        transport: 'stdio',
        command: dto.command,
        args: dto.args ?? [],
        env: vars,
        ...(dto.cwd !== undefined && { cwd: dto.cwd }),
      },
    };
  }
  if (entry.transport !== 'streamable_http' && entry.transport !== 'sse') {
    return { problems: checkDto(ToolServerDto, entry, where, false).problems };
  }
  const { dto, problems, faultAt } = checkDto(HttpServerDto, entry, where);
  const headers: Record<string, string> = {};
  if (!faultAt('headers_env')) {
    for (const [header, name] of Object.entries(dto.headers_env ?? {})) {
      const value = env[name];
      if (value === undefined) problems.push(`${where}.headers_env.${header}: the variable ${name} is not set`);
      else headers[header] = value;
    }
  }
  if (problems.length > 0) return { problems };
  return { problems, server: { ...base(dto), transport: entry.transport, url: dto.url, headers } };
}

/** What every checked server has, converted. */
function base(dto: ToolServerDto): ServerBase {
  return {
    name: dto.name,
    timeoutMs: dto.timeout_ms ?? DEFAULT_TOOL_TIMEOUT_MS,
    ...(dto.tools && { allow: dto.tools }),
  };
}
