import { HttpStatus, Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Ajv, { type ValidateFunction } from 'ajv';
import { ErrorCode as McpErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { AppResource, ToolCallOutcome, ToolSpec, ToolsPort } from '@ensemble/agents';
import { ApiError } from '../common/api-error';
import { valueWithin } from '../common/deadline';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { MetricsService } from '../observability/metrics.service';
import { describeError, McpConnection, type McpTool } from './mcp-connection';
import { isToolResource, parseToolResource, type ToolResourceRef } from './tool-resource';
import { resultMarkdown, truncate } from './tool-result';
import type { ToolServerView } from './tools.types';

/** How long the admin listing waits for a server's tools. */
const LISTING_WAIT_MS = 5000;

/** What an app detail brings to validation: its resources, as the request has them. */
interface DetailResources {
  resources?: readonly { type: string; value: string }[];
}

/**
 * The MCP servers of the tools file: one kept connection each (see
 * `McpConnection`), their tools for the admin listing and app validation,
 * and the `ToolsPort` runs call tools through (arguments checked against
 * the tool's JSON Schema first; every call timed, counted and logged
 * without its arguments unless LOG_PROMPTS).
 */
@Injectable()
export class ToolsService implements OnApplicationShutdown {
  private readonly logger = new Logger('Tools');
  private readonly connections = new Map<string, McpConnection>();
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  /** Compiled validators by server, tool and schema text. */
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly logArgs: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    for (const server of config.tools.servers) this.connections.set(server.name, new McpConnection(server));
    this.logArgs = config.logPrompts;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.close()));
  }

  /** The declared servers, their state and tools (each server contacted once if not yet). */
  async servers(): Promise<ToolServerView[]> {
    return Promise.all(
      [...this.connections.values()].map(async (connection): Promise<ToolServerView> => {
        // A server slow to answer is shown as it is (`connecting`) rather than holding the listing up.
        const listed = connection.listTools().catch(() => undefined);
        const tools = (await valueWithin(listed, LISTING_WAIT_MS)) ?? connection.cachedTools() ?? [];
        const { name, transport, timeoutMs } = connection.config;
        return {
          name,
          transport,
          state: connection.state,
          ...(connection.error && { error: connection.error }),
          timeout_ms: timeoutMs,
          tools: tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema })),
        };
      }),
    );
  }

  /**
   * Readiness detail: each declared server's state (an unreachable one does
   * not fail readiness). A server not contacted yet is contacted now, in the
   * background, so the next readiness check reports whether it can be reached.
   */
  states(): Record<string, { state: string; error?: string }> {
    for (const c of this.connections.values()) if (c.state === 'idle') void c.listTools().catch(() => undefined);
    return Object.fromEntries(
      [...this.connections.values()].map((c) => [
        c.config.name,
        { state: c.state, ...(c.error && { error: c.error }) },
      ]),
    );
  }

  /** Connections opened so far, by server (a kept connection counts once). */
  connectionsOpened(): Record<string, number> {
    return Object.fromEntries([...this.connections.values()].map((c) => [c.config.name, c.opened]));
  }

  /**
   * Checks the tool resources of an app's details: a declared server, tools
   * it offers. A 400 names `details[i].resources[j]`; a server that cannot
   * be reached to check its tools is a 503.
   */
  async validateDetails(details: readonly DetailResources[] | undefined): Promise<void> {
    for (const [i, detail] of (details ?? []).entries()) {
      for (const [j, resource] of (detail.resources ?? []).entries()) {
        if (!isToolResource(resource.type)) continue;
        const param = `details[${i}].resources[${j}]`;
        const ref = parseToolResource(resource.type, resource.value, this.declared());
        if ('error' in ref) throw ApiError.badRequest('validation_error', `${param}: ${ref.error}.`, param);
        if (!ref.tools) continue;
        const offered = await this.toolsOf(ref.server).catch(() => {
          throw new ApiError(
            HttpStatus.SERVICE_UNAVAILABLE,
            'service_unavailable',
            `${param}: the tool server "${ref.server}" cannot be reached to check its tools; try again later.`,
            param,
          );
        });
        const missing = ref.tools.filter((t) => !offered.some((tool) => tool.name === t));
        if (missing.length > 0) {
          const names = offered.map((t) => t.name).join(', ') || 'none';
          throw ApiError.badRequest(
            'validation_error',
            `${param}: the tool server "${ref.server}" offers no tool ${missing.map((t) => JSON.stringify(t)).join(', ')} (it offers: ${names}).`,
            param,
          );
        }
      }
    }
  }

  /** The port a run reaches tools through. */
  port(): ToolsPort {
    return {
      toolsFor: (resources) => this.toolsFor(resources),
      call: (tool, args, signal) => this.call(tool, args, signal),
    };
  }

  async toolsFor(resources: readonly AppResource[]): Promise<ToolSpec[]> {
    const specs: ToolSpec[] = [];
    for (const resource of resources) {
      if (!isToolResource(resource.type)) continue;
      const ref = parseToolResource(resource.type, resource.value, this.declared());
      if ('error' in ref) continue;
      for (const tool of await this.resourceTools(ref)) specs.push({ server: ref.server, ...tool });
    }
    return specs;
  }

  async call(tool: ToolSpec, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolCallOutcome> {
    const started = performance.now();
    const outcome = await this.attempt(tool, args, signal);
    const seconds = (performance.now() - started) / 1000;
    this.metrics.toolCall(tool.server, tool.name, outcome.kind, seconds);
    const shown = this.logArgs ? ` args=${JSON.stringify(args)}` : '';
    const reason = outcome.result.status === 'failed' ? ` error=${JSON.stringify(outcome.result.error)}` : '';
    this.logger.log(
      `tool call server=${tool.server} tool=${tool.name} outcome=${outcome.kind} ${Math.round(seconds * 1000)}ms${shown}${reason}`,
    );
    return outcome.result;
  }

  private async attempt(
    tool: ToolSpec,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<{ kind: string; result: ToolCallOutcome }> {
    const connection = this.connections.get(tool.server);
    if (!connection) return failed('unavailable', `the tool server "${tool.server}" is not declared`);
    const invalid = this.checkArgs(tool, args);
    if (invalid) return failed('invalid_args', `the arguments do not match the tool's input schema: ${invalid}`);
    try {
      const result = await connection.callTool(tool.name, args, signal);
      const markdown = resultMarkdown(result);
      if (result.isError) {
        return {
          kind: 'failed',
          result: { status: 'failed', error: markdown || 'the tool reported an error', result: markdown },
        };
      }
      return { kind: 'complete', result: { status: 'complete', result: markdown } };
    } catch (error) {
      if (signal.aborted) return failed('cancelled', 'the call was cancelled');
      if (error instanceof McpError && error.code === (McpErrorCode.RequestTimeout as number)) {
        return failed('timeout', `the tool did not answer within ${connection.config.timeoutMs} ms`);
      }
      if (error instanceof McpError)
        return failed('failed', truncate(`the tool server refused the call: ${error.message}`));
      return failed('unavailable', `the tool server "${tool.server}" failed: ${describeError(error)}`);
    }
  }

  /** Why `args` do not match the tool's schema, or undefined when they do. */
  private checkArgs(tool: ToolSpec, args: Record<string, unknown>): string | undefined {
    const key = `${tool.server}\u0000${tool.name}\u0000${JSON.stringify(tool.inputSchema)}`;
    let validate = this.validators.get(key);
    if (!validate) {
      const { $schema: _ignored, ...schema } = tool.inputSchema;
      try {
        validate = this.ajv.compile(schema);
      } catch {
        return undefined; // a schema Ajv cannot compile is left to the server to enforce
      }
      this.validators.set(key, validate);
    }
    if (validate(args)) return undefined;
    return this.ajv.errorsText(validate.errors, { dataVar: 'args' });
  }

  private declared() {
    return [...this.connections.values()].map((c) => c.config);
  }

  private toolsOf(server: string): Promise<McpTool[]> {
    const connection = this.connections.get(server);
    if (!connection) return Promise.reject(new Error(`the tool server "${server}" is not declared`));
    return connection.listTools();
  }

  private async resourceTools(ref: ToolResourceRef): Promise<McpTool[]> {
    const tools = await this.toolsOf(ref.server);
    return ref.tools ? tools.filter((t) => ref.tools!.includes(t.name)) : tools;
  }
}

function failed(kind: string, error: string): { kind: string; result: ToolCallOutcome } {
  return { kind, result: { status: 'failed', error } };
}
