/**
 * MCP tools end to end: the tools file, the kept connections to two real
 * MCP servers written here (one over stdio started by Ensemble, one over
 * Streamable HTTP on a loopback port), the admin listing, app validation,
 * and runs whose ToolExpert calls tools, seen in the stream and stored.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ConfigError, loadConfig } from '../apps/server/src/config/config';
import { startChatEnv, type ChatEnv } from './support/chat-env';
import { expectDualError } from './support/expect-error';
import { startMcpHttpServer, type TestMcpHttpServer } from './support/mcp-http-server';
import { API_KEY, AUTH } from './support/server';

const STDIO_SCRIPT = join(__dirname, 'support', 'mcp-stdio-server.js');
const TOKEN_ENV = 'ENSEMBLE_TEST_MCP_TOKEN';

describe('tools file', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'ensemble-tools-file-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = (content: unknown, env: Record<string, string> = {}) => {
    const file = join(dir, `tools-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return () => loadConfig({ API_KEYS: API_KEY, TOOLS_FILE: file, ...env });
  };

  it('reads the declared servers, header values from the named variables', () => {
    const config = load(
      {
        servers: [
          { name: 'local', transport: 'stdio', command: 'node', args: ['s.js'], env: ['ONE'], tools: ['echo'] },
          {
            name: 'web',
            transport: 'streamable_http',
            url: 'http://127.0.0.1:1/mcp',
            headers_env: { Authorization: 'TOK' },
            timeout_ms: 500,
          },
        ],
      },
      { ONE: '1', TOK: 'Bearer t' },
    )();
    expect(config.tools.servers).toEqual([
      {
        name: 'local',
        transport: 'stdio',
        command: 'node',
        args: ['s.js'],
        env: { ONE: '1' },
        allow: ['echo'],
        timeoutMs: 30000,
      },
      {
        name: 'web',
        transport: 'streamable_http',
        url: 'http://127.0.0.1:1/mcp',
        headers: { Authorization: 'Bearer t' },
        timeoutMs: 500,
      },
    ]);
  });

  it('names every bad entry', () => {
    const run = load({
      servers: [
        { name: 'ok', transport: 'stdio', command: 'node' },
        { name: 'ok', transport: 'stdio', command: 'node' },
        { name: 'nocmd', transport: 'stdio' },
        { name: 'badurl', transport: 'streamable_http', url: 'ftp://x' },
        { name: 'carrier', transport: 'pigeon' },
        { name: 'secret', transport: 'sse', url: 'http://h/sse', headers_env: { 'X-Key': 'UNSET_VAR_X' } },
        { name: 'slow', transport: 'stdio', command: 'node', timeout_ms: 0, extra: 1 },
      ],
    });
    let problems: string[] = [];
    try {
      run();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      problems = (e as ConfigError).problems;
    }
    const file = expect.stringMatching(/^TOOLS_FILE .*tools-\w+\.json: /);
    expect(problems).toHaveLength(7);
    expect(problems.every((p) => (file as { asymmetricMatch(v: string): boolean }).asymmetricMatch(p))).toBe(true);
    const tails = problems.map((p) => p.replace(/^TOOLS_FILE [^:]+: /, ''));
    expect(tails).toEqual([
      'servers[1] ("ok"): duplicate name (also servers[0])',
      'servers[2] ("nocmd"): command must be a non-empty string',
      'servers[3] ("badurl"): url must be an http:// or https:// URL',
      'servers[4] ("carrier"): transport must be one of stdio, streamable_http, sse',
      'servers[5] ("secret"): headers_env.X-Key: the variable UNSET_VAR_X is not set',
      'servers[6] ("slow"): timeout_ms must be an integer from 1 to 3600000',
      'servers[6] ("slow"): unknown key "extra" (allowed: name, transport, tools, timeout_ms, command, args, cwd, env)',
    ]);
  });

  it('refuses a file that is not JSON or not there', () => {
    expect(load('{ nope')).toThrow(/TOOLS_FILE .*: not valid JSON/);
    expect(() => loadConfig({ API_KEYS: API_KEY, TOOLS_FILE: join(dir, 'missing.json') })).toThrow(
      /TOOLS_FILE .*missing\.json: cannot read the file \(ENOENT\)/,
    );
  });
});

describe('tools through the server', () => {
  let env: ChatEnv;
  let mcp: TestMcpHttpServer & { sessions(): number };
  let dir: string;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    mcp = await startMcpHttpServer();
    dir = mkdtempSync(join(tmpdir(), 'ensemble-tools-'));
    const toolsFile = join(dir, 'tools.json');
    writeFileSync(
      toolsFile,
      JSON.stringify({
        servers: [
          { name: 'local', transport: 'stdio', command: process.execPath, args: [STDIO_SCRIPT], timeout_ms: 2000 },
          { name: 'web', transport: 'streamable_http', url: mcp.url, headers_env: { 'X-Test-Token': TOKEN_ENV } },
          { name: 'limited', transport: 'streamable_http', url: mcp.url, tools: ['add'] },
          { name: 'down', transport: 'streamable_http', url: 'http://127.0.0.1:9/mcp', timeout_ms: 1000 },
        ],
      }),
    );
    env = await startChatEnv({ TOOLS_FILE: toolsFile, [TOKEN_ENV]: 'secret-token-1' });
    http = request(env.server.origin);
  }, 60_000);

  afterAll(async () => {
    await env?.close();
    await mcp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('GET /api/v2/serve/tools', () => {
    it('lists the declared servers, their state and tools; an unreachable one is reported', async () => {
      const res = await http.get('/api/v2/serve/tools').set(AUTH);
      expect(res.status).toBe(200);
      const servers = res.body.data as { name: string; state: string; error?: string; tools: { name: string }[] }[];
      expect(servers.map((s) => [s.name, s.state])).toEqual([
        ['local', 'connected'],
        ['web', 'connected'],
        ['limited', 'connected'],
        ['down', 'unreachable'],
      ]);
      const all = ['echo', 'add', 'fail', 'sleep', 'big', 'pid', 'crash'];
      expect(servers[0].tools.map((t) => t.name)).toEqual(all);
      expect(servers[1].tools.map((t) => t.name)).toEqual(all);
      expect(servers[2].tools.map((t) => t.name)).toEqual(['add']);
      expect(servers[3].tools).toEqual([]);
      expect(servers[3].error).toEqual(expect.any(String));
      expect(servers[1].tools[1]).toEqual({
        name: 'add',
        description: 'Adds two numbers.',
        input_schema: expect.objectContaining({
          type: 'object',
          properties: { a: { type: 'number' }, b: { type: 'number' } },
          required: ['a', 'b'],
        }),
      });
      expect(mcp.lastHeaders()['x-test-token']).toBe('secret-token-1');
      expect(JSON.stringify(res.body)).not.toContain('secret-token-1');
    });

    it('needs a key', async () => {
      expectDualError(await http.get('/api/v2/serve/tools'), 401, 'invalid_api_key');
    });

    it('reports the servers in readiness without failing it', async () => {
      const res = await http.get('/api/ready');
      expect(res.status).toBe(200);
      expect(res.body.info.tools.servers).toEqual({
        local: { state: 'connected' },
        web: { state: 'connected' },
        limited: { state: 'connected' },
        down: { state: 'unreachable', error: expect.any(String) },
      });
    });
  });

  describe('apps with tool(mcp) resources', () => {
    const create = (resources: { type: string; name: string; value: string }[], agent = 'Summarizer') =>
      http
        .post('/api/v2/serve/apps')
        .set(AUTH)
        .send({
          app_name: `tools-${Math.random().toString(36).slice(2)}`,
          team_mode: 'single_agent',
          details: [{ agent_name: 'AI Assistant' }, { agent_name: agent, resources }],
        });
    const tool = (value: unknown, type = 'tool(mcp)') => ({
      type,
      name: 'tools',
      value: typeof value === 'string' ? value : JSON.stringify(value),
    });

    it('accepts declared servers and tools they offer', async () => {
      expect((await create([tool({ server: 'web', tools: ['add', 'echo'] })])).status).toBe(201);
      expect((await create([tool('local')])).status).toBe(201);
      expect((await create([tool({ mcp_servers: mcp.url }, 'tool(mcp(sse))')])).status).toBe(201);
    });

    it('refuses an undeclared server, naming the detail and resource', async () => {
      const res = await create([{ type: 'text', name: 'n', value: 'v' }, tool({ server: 'nowhere' })]);
      expectDualError(res, 400, 'validation_error', 'details[1].resources[1]');
      expect(res.body.err_msg).toBe(
        'details[1].resources[1]: "nowhere" is not a tool server declared in the tools file.',
      );
    });

    it('refuses a tool the server does not offer (allow-list applied)', async () => {
      const res = await create([tool({ server: 'limited', tools: ['add', 'echo'] })]);
      expectDualError(res, 400, 'validation_error', 'details[1].resources[0]');
      expect(res.body.err_msg).toBe(
        'details[1].resources[0]: the tool server "limited" offers no tool "echo" (it offers: add).',
      );
    });

    it("refuses DB-GPT's tool(mcp(sse)) with a URL that is not declared (no SSRF)", async () => {
      const res = await create([tool({ mcp_servers: 'http://169.254.169.254/sse' }, 'tool(mcp(sse))')]);
      expectDualError(res, 400, 'validation_error', 'details[1].resources[0]');
    });

    it('refuses a malformed value and checks updates too', async () => {
      expectDualError(await create([tool({ tools: ['add'] })]), 400, 'validation_error', 'details[1].resources[0]');
      const created = await create([tool({ server: 'web' })]);
      const res = await http
        .put(`/api/v2/serve/apps/${created.body.data.app_code}`)
        .set(AUTH)
        .send({ details: [{ agent_name: 'Summarizer', resources: [tool({ server: 'web', tools: ['nope'] })] }] });
      expectDualError(res, 400, 'validation_error', 'details[0].resources[0]');
    });

    it('is a 503 when the server cannot be reached to check its tools', async () => {
      const res = await create([tool({ server: 'down', tools: ['x'] })]);
      expectDualError(res, 503, 'service_unavailable', 'details[1].resources[0]');
    });
  });
});
