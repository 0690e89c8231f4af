import { parseToolsConfig, ToolsConfigError } from './tools-config';

function problemsOf(raw: unknown, env: Record<string, string | undefined> = {}): string[] {
  try {
    parseToolsConfig(raw, env, 'tools.json');
  } catch (err) {
    if (err instanceof ToolsConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the tools file to be rejected');
}

describe('parseToolsConfig', () => {
  it('reads a stdio server: null args, env and timeout take their defaults; set variables are passed on', () => {
    const config = parseToolsConfig(
      {
        servers: [
          {
            name: 'calc',
            transport: 'stdio',
            command: 'node',
            args: null,
            env: ['ONE'],
            timeout_ms: null,
            cwd: '/srv',
          },
        ],
      },
      { ONE: '' },
      'tools.json',
    );

    expect(config).toEqual({
      source: 'tools.json',
      servers: [
        {
          name: 'calc',
          transport: 'stdio',
          command: 'node',
          args: [],
          env: { ONE: '' },
          cwd: '/srv',
          timeoutMs: 30000,
        },
      ],
    });
  });

  it('names every bad key of a server with its path', () => {
    expect(
      problemsOf({
        servers: [
          { name: '-x', transport: 'stdio', command: ' ', args: [1], cwd: null, env: ['OK', '1BAD'], tools: [] },
          {
            name: 'web',
            transport: 'sse',
            url: 'http://h/sse',
            headers_env: { 'Bad Header': 'A', 'X-Key': 'not a var' },
          },
          { name: 'web2', transport: 'streamable_http', url: 'http://h/mcp', headers_env: ['X-Key'], env: ['A'] },
          'calc',
        ],
        extra: true,
      }),
    ).toEqual([
      'property extra should not exist',
      'servers[0].command must be a non-empty string',
      'servers[0].args must be a list of strings',
      'servers[0].cwd must be a non-empty string',
      'servers[0].env must be a list of environment variable names: "1BAD" is not',
      'servers[0].name must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit',
      'servers[0].tools must be a non-empty list of tool names',
      'servers[1].headers_env must map header names to environment variable names: "Bad Header" is not a header name, "X-Key" does not name an environment variable',
      'property servers[2].env should not exist',
      'servers[2].headers_env must be an object of header name → variable name',
      'servers[3] must be an object',
    ]);
  });

  it('judges only the common keys of a server of an unknown transport, and needs a list of servers', () => {
    expect(problemsOf({ servers: [{ name: 'p', transport: 'pigeon', timeout_ms: 0, url: 'x' }] })).toEqual([
      'servers[0].transport must be one of stdio, streamable_http, sse',
      'servers[0].timeout_ms must be an integer from 1 to 3600000',
    ]);
    expect(problemsOf({ servers: {} })).toEqual(['servers must be a list']);
    expect(problemsOf(null)).toEqual(['the top level must be a JSON object']);
  });

  it('names each variable that is not set, never its value', () => {
    expect(
      problemsOf(
        {
          servers: [
            { name: 'a', transport: 'stdio', command: 'node', env: ['SET', 'UNSET_ONE'] },
            { name: 'b', transport: 'sse', url: 'http://h/sse', headers_env: { Authorization: 'UNSET_TWO' } },
          ],
        },
        { SET: 'secret-value' },
      ),
    ).toEqual([
      'servers[0].env: the variable UNSET_ONE is not set',
      'servers[1].headers_env.Authorization: the variable UNSET_TWO is not set',
    ]);
  });
});
