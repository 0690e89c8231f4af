/**
 * A `ToolsPort` over tools written in memory, for tests of the agents
 * library (the server's port over real MCP servers is tested end to end):
 * `echo`, `add` (numbers a and b, checked), `fail` (always a failed call)
 * and `sleep` (waits, or stops when the signal aborts). Every call is recorded.
 */
import type { ToolCallOutcome, ToolSpec, ToolsPort } from '../ports/tools';
import type { AppResource } from '../types';

const object = (properties: Record<string, unknown>, required: string[]) => ({ type: 'object', properties, required });

export const MEMORY_TOOLS: ToolSpec[] = [
  {
    server: 'mem',
    name: 'echo',
    description: 'Returns the text.',
    inputSchema: object({ text: { type: 'string' } }, ['text']),
  },
  {
    server: 'mem',
    name: 'add',
    description: 'Adds two numbers.',
    inputSchema: object({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']),
  },
  { server: 'mem', name: 'fail', description: 'Always fails.', inputSchema: object({}, []) },
  { server: 'mem', name: 'sleep', description: 'Waits ms.', inputSchema: object({ ms: { type: 'number' } }, ['ms']) },
];

/** A tool resource naming the memory server, as an app detail carries it. */
export const MEMORY_TOOL_RESOURCE: AppResource = { type: 'tool(mcp)', name: 'mem', value: '{"server":"mem"}' };

export class MemoryTools implements ToolsPort {
  readonly calls: { tool: string; args: Record<string, unknown>; aborted?: boolean }[] = [];

  toolsFor(resources: readonly AppResource[]): Promise<ToolSpec[]> {
    return Promise.resolve(resources.some((r) => r.type === 'tool(mcp)') ? MEMORY_TOOLS : []);
  }

  async call(tool: ToolSpec, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolCallOutcome> {
    const call: (typeof this.calls)[number] = { tool: tool.name, args };
    this.calls.push(call);
    switch (tool.name) {
      case 'echo':
        return { status: 'complete', result: String(args.text) };
      case 'add':
        if (typeof args.a !== 'number' || typeof args.b !== 'number') {
          return { status: 'failed', error: 'the arguments do not match the input schema: a and b must be numbers' };
        }
        return { status: 'complete', result: String(args.a + args.b) };
      case 'sleep':
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Number(args.ms));
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            call.aborted = true;
            resolve();
          });
        });
        return call.aborted
          ? { status: 'failed', error: 'the call was cancelled' }
          : { status: 'complete', result: 'slept' };
      default:
        return { status: 'failed', error: 'the tool reported an error', result: 'failed on purpose' };
    }
  }
}
