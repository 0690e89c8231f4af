/**
 * The tools file (`TOOLS_FILE`): the MCP servers the operator declares. Apps
 * may only name servers listed here; no API call introduces a new one.
 * Validated strictly at boot, every problem named with its entry.
 */
import { readFileSync } from 'node:fs';
import { ENV_NAME, type Env, HEADER_NAME, isHttpUrl, isRecord, unknownKeys } from '@ensemble/llm';

export const TOOL_TRANSPORTS = ['stdio', 'streamable_http', 'sse'] as const;
export type ToolTransport = (typeof TOOL_TRANSPORTS)[number];

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
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ToolsConfigError(path, [`cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ToolsConfigError(path, [`not valid JSON (${(err as Error).message})`]);
  }
  return parseToolsConfig(raw, env, path);
}

const TOP_LEVEL_KEYS = ['servers'];
const COMMON_KEYS = ['name', 'transport', 'tools', 'timeout_ms'];
const STDIO_KEYS = [...COMMON_KEYS, 'command', 'args', 'cwd', 'env'];
const HTTP_KEYS = [...COMMON_KEYS, 'url', 'headers_env'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Validates the parsed content of a tools file; `source` names it in errors. */
export function parseToolsConfig(raw: unknown, env: Env = process.env, source = 'tools file'): ToolsConfig {
  if (!isRecord(raw)) throw new ToolsConfigError(source, ['the top level must be a JSON object']);
  const problems = unknownKeys(raw, TOP_LEVEL_KEYS, 'the top level');
  if (!Array.isArray(raw.servers)) {
    throw new ToolsConfigError(source, [...problems, '"servers" must be a list']);
  }
  const servers: ToolServerConfig[] = [];
  const firstIndexOf = new Map<string, number>();
  raw.servers.forEach((entry: unknown, index: number) => {
    const checked = checkServer(entry, index, env);
    problems.push(...checked.problems);
    if (!checked.server) return;
    const seen = firstIndexOf.get(checked.server.name);
    if (seen !== undefined) {
      problems.push(`${label(entry, index)}: duplicate name (also servers[${seen}])`);
      return;
    }
    firstIndexOf.set(checked.server.name, index);
    servers.push(checked.server);
  });
  if (problems.length > 0) throw new ToolsConfigError(source, problems);
  return { servers, source };
}

function checkServer(entry: unknown, index: number, env: Env): { server?: ToolServerConfig; problems: string[] } {
  const where = label(entry, index);
  if (!isRecord(entry)) return { problems: [`${where}: must be an object`] };
  const problems: string[] = [];
  const fail = (message: string) => problems.push(`${where}: ${message}`);

  const name = entry.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    fail('name must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');
  }
  let allow: string[] | undefined;
  if (entry.tools !== undefined) {
    if (!isStringList(entry.tools) || entry.tools.length === 0 || entry.tools.some((t) => !t.trim())) {
      fail('tools must be a non-empty list of tool names');
    } else allow = entry.tools;
  }
  const timeoutMs = entry.timeout_ms ?? DEFAULT_TOOL_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 3_600_000) {
    fail('timeout_ms must be an integer from 1 to 3600000');
  }
  const base = { name: name as string, timeoutMs: timeoutMs as number, ...(allow && { allow }) };

  if (entry.transport === 'stdio') {
    problems.push(...unknownKeys(entry, STDIO_KEYS, where));
    if (typeof entry.command !== 'string' || !entry.command.trim()) fail('command must be a non-empty string');
    const args = entry.args ?? [];
    if (!isStringList(args)) fail('args must be a list of strings');
    if (entry.cwd !== undefined && (typeof entry.cwd !== 'string' || !entry.cwd)) {
      fail('cwd must be a non-empty string');
    }
    const vars: Record<string, string> = {};
    const names = entry.env ?? [];
    if (!isStringList(names)) fail('env must be a list of environment variable names');
    else {
      for (const envName of names) {
        if (!ENV_NAME.test(envName)) fail(`env: ${JSON.stringify(envName)} is not a variable name`);
        else if (env[envName] === undefined) fail(`env: the variable ${envName} is not set`);
        else vars[envName] = env[envName];
      }
    }
    if (problems.length > 0) return { problems };
    return {
      problems,
      server: {
        ...base,
        transport: 'stdio',
        command: entry.command as string,
        args: args as string[],
        env: vars,
        ...(typeof entry.cwd === 'string' && { cwd: entry.cwd }),
      },
    };
  }
  if (entry.transport !== 'streamable_http' && entry.transport !== 'sse') {
    fail(`transport must be one of ${TOOL_TRANSPORTS.join(', ')}`);
    return { problems };
  }
  problems.push(...unknownKeys(entry, HTTP_KEYS, where));
  if (typeof entry.url !== 'string' || !isHttpUrl(entry.url)) fail('url must be an http:// or https:// URL');
  const headers: Record<string, string> = {};
  if (entry.headers_env !== undefined) {
    if (!isRecord(entry.headers_env)) fail('headers_env must be an object of header name → variable name');
    else {
      for (const [header, envName] of Object.entries(entry.headers_env)) {
        if (!HEADER_NAME.test(header)) fail(`headers_env: ${JSON.stringify(header)} is not a header name`);
        else if (typeof envName !== 'string' || !ENV_NAME.test(envName)) {
          fail(`headers_env.${header} must name an environment variable`);
        } else if (env[envName] === undefined) fail(`headers_env.${header}: the variable ${envName} is not set`);
        else headers[header] = env[envName];
      }
    }
  }
  if (problems.length > 0) return { problems };
  return { problems, server: { ...base, transport: entry.transport, url: entry.url as string, headers } };
}

/** `servers[2] ("calc")` or `servers[2]`. */
function label(entry: unknown, index: number): string {
  const name = isRecord(entry) && typeof entry.name === 'string' ? ` (${JSON.stringify(entry.name)})` : '';
  return `servers[${index}]${name}`;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
