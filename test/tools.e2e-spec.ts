/**
 * MCP tools end to end: the tools file, the kept connections to two real
 * MCP servers written here (one over stdio started by Ensemble, one over
 * Streamable HTTP on a loopback port), the admin listing, app validation,
 * and runs whose ToolExpert calls tools, seen in the stream and stored.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parseVis, type VisBlock } from '@ensemble/agents';
import { ConfigError, loadConfig } from '../apps/server/src/config/config';
import { ToolsService } from '../apps/server/src/tools/tools.service';
import { contents, rawPost, startChatEnv, type ChatEnv } from './support/chat-env';
import { expectDualError } from './support/expect-error';
import { startMcpHttpServer, type TestMcpHttpServer } from './support/mcp-http-server';
import { API_KEY, AUTH, startTestServer } from './support/server';

const CHAT = '/api/v2/chat/completions';

interface Plugin {
  name: string;
  args: Record<string, unknown>;
  logo: null;
  result: string | null;
  err_msg: string | null;
  status: string;
}

/** Every vis-plugin item of a vis document, in order. */
function plugins(doc: string): Plugin[] {
  const messages = (blocks: VisBlock[]) =>
    blocks.flatMap((b) => (b.tag === 'agent-plans' ? b.items.flatMap((i) => i.messages) : b.items));
  return messages(parseVis(doc))
    .filter((m) => m.markdown.startsWith('```vis-plugin\n'))
    .map((m) => JSON.parse(m.markdown.slice('```vis-plugin\n'.length, -'\n```'.length)) as Plugin);
}

const decide = (tool: string, args: unknown) => JSON.stringify({ thought: `call ${tool}`, tool_name: tool, args });
const answer = (text: string) => JSON.stringify({ thought: 'done', answer: text });

// Starting a stdio server is a Node process start: slow on a loaded machine.
jest.setTimeout(30_000);

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
      'servers[1].name "ok" is also the name of servers[0]',
      'servers[2].command must be a non-empty string',
      'servers[3].url must be an http:// or https:// URL',
      'servers[4].transport must be one of stdio, streamable_http, sse',
      'servers[5].headers_env.X-Key: the variable UNSET_VAR_X is not set',
      'property servers[6].extra should not exist',
      'servers[6].timeout_ms must be an integer from 1 to 3600000',
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
          {
            name: 'web',
            transport: 'streamable_http',
            url: mcp.url,
            headers_env: { 'X-Test-Token': TOKEN_ENV },
            timeout_ms: 10000,
          },
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
      const all = ['echo', 'add', 'fail', 'sleep', 'big', 'pid', 'crash', 'grow'];
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
      expectDualError(await http.get('/api/v2/serve/tools'), 401, 'invalid_api_key', null);
    });

    it('reports the servers in readiness without failing it', async () => {
      const res = await http.get('/api/ready');
      expect(res.status).toBe(200);
      const fresh = await http.get('/api/ready');
      expect(fresh.body.info.tools.servers).toEqual({
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

  describe('runs', () => {
    const tool = (server: string, tools?: string[]) => ({
      type: 'tool(mcp)',
      name: server,
      value: JSON.stringify({ server, ...(tools && { tools }) }),
    });
    const createApp = async (teamMode: string, details: unknown[]) => {
      const res = await http
        .post('/api/v2/serve/apps')
        .set(AUTH)
        .send({ app_name: `run-${Math.random().toString(36).slice(2)}`, team_mode: teamMode, details });
      expect(res.status).toBe(201);
      return res.body.data.app_code as string;
    };
    const chat = (app: string, input: string, extra: Record<string, unknown> = {}) =>
      rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: input,
        chat_mode: 'chat_app',
        chat_param: app,
        stream: true,
        incremental: true,
        ...extra,
      });
    const lastUserMessage = (index: number) => {
      const messages = env.fake.requests[index].body?.messages ?? [];
      return String(messages[messages.length - 1].content);
    };
    const stored = async (convUid: string) => {
      const res = await http.get(`/api/v2/conversations/${convUid}`).set(AUTH);
      expect(res.status).toBe(200);
      return res.body.data as {
        state: string;
        turns: {
          answer: string;
          messages: { sender: string; receiver: string; content: string; success: boolean }[];
        }[];
      };
    };
    let single: string;

    beforeAll(async () => {
      single = await createApp('single_agent', [
        { agent_name: 'ToolExpert', resources: [tool('web', ['add', 'sleep', 'big'])] },
      ]);
    });
    beforeEach(() => env.fake.reset());

    it('single_agent: the ToolExpert calls a tool over Streamable HTTP; each call is a vis-plugin, stored', async () => {
      env.fake.enqueue(decide('add', { a: 2, b: 3 }), answer('2 + 3 = 5'));
      const res = await chat(single, 'What is 2 + 3?');
      expect(res.status).toBe(200);
      const doc = contents(res.body).join('');
      expect(plugins(doc)).toEqual([
        { name: 'add', args: { a: 2, b: 3 }, logo: null, result: '5', err_msg: null, status: 'complete' },
      ]);
      expect(lastUserMessage(1)).toMatch(/^The tool add returned:\n5\n\n/);
      // the model saw the tools the resource names, with their schemas
      const system = String(env.fake.requests[0].body?.messages?.[0].content);
      expect(system).toContain('- add: Adds two numbers.');
      expect(system).not.toContain('- echo:');
      const conv = await stored(res.headers['x-conv-uid'] as string);
      expect(conv.state).toBe('complete');
      expect(conv.turns[0].answer).toBe('2 + 3 = 5');
      const call = conv.turns[0].messages.find((m) => m.receiver === 'web/add');
      expect(call).toMatchObject({ sender: 'ToolExpert', success: true });
      expect(
        plugins(
          `\`\`\`agent-messages\n${JSON.stringify([{ sender: 'a', receiver: 'b', model: null, markdown: call!.content, resource: null }])}\n\`\`\``,
        ),
      ).toEqual(plugins(doc));
    });

    it('incremental deltas concatenate to the last full view with vis-plugin items; every full view parses', async () => {
      const script = () => env.fake.enqueue(decide('add', { a: 1, b: 1 }), answer('two "2" 😀'));
      script();
      const inc = contents((await chat(single, 'one plus one')).body);
      script();
      // The final chunk's content is "" (DB-GPT's callers append every delta): views are the non-empty ones.
      const full = contents((await chat(single, 'one plus one', { incremental: false })).body).filter((c) => c !== '');
      expect(inc.join('')).toBe(full[full.length - 1]);
      for (const doc of full) expect(() => parseVis(doc)).not.toThrow();
      expect(full.some((doc) => plugins(doc).some((p) => p.status === 'running'))).toBe(true);
      expect(plugins(full[full.length - 1]).map((p) => p.status)).toEqual(['complete']);
    });

    it('arguments that fail the schema are fed back (never sent), then corrected', async () => {
      const before = mcp.events.filter((e) => e.tool === 'add').length;
      env.fake.enqueue(decide('add', { a: '2', b: 3 }), decide('add', { a: 2, b: 3 }), answer('5'));
      const res = await chat(single, 'Add "2" and 3');
      const items = plugins(contents(res.body).join(''));
      expect(items.map((p) => [p.status, p.err_msg])).toEqual([
        ['failed', "the arguments do not match the tool's input schema: args/a must be number"],
        ['complete', null],
      ]);
      expect(lastUserMessage(1)).toMatch(
        /^The call of add failed: the arguments do not match the tool's input schema: args\/a must be number\n/,
      );
      expect(mcp.events.filter((e) => e.tool === 'add').length - before).toBe(1);
    });

    it('a large result is cut for the model and the view', async () => {
      env.fake.enqueue(decide('big', { n: 100000 }), answer('big'));
      const res = await chat(single, 'big');
      const [item] = plugins(contents(res.body).join(''));
      expect(item.status).toBe('complete');
      expect(item.result).toBe(`${'x'.repeat(16000)}\n\n… (cut: 100000 characters in all)`);
    });

    it('cancel mid-call stops the call on the tool server', async () => {
      const convUid = `tools-cancel-${Date.now()}`;
      env.fake.enqueue(decide('sleep', { ms: 20000 }), answer('never'));
      const started = Date.now();
      const running = chat(single, 'sleep', { conv_uid: convUid });
      const sleeping = () => mcp.events.filter((e) => e.tool === 'sleep');
      await waitFor(() => sleeping().some((e) => e.state === 'started'));
      const cancel = await http.post(`${CHAT}/${convUid}/cancel`).set(AUTH);
      expect(cancel.body.data).toEqual({ conv_uid: convUid, cancelled: true });
      await running;
      await waitFor(() => sleeping().some((e) => e.state === 'cancelled'));
      expect(sleeping().map((e) => e.state)).toEqual(['started', 'cancelled']);
      expect(Date.now() - started).toBeLessThan(10000);
      const conv = await stored(convUid);
      expect(conv.state).toBe('cancelled');
      const call = conv.turns[0].messages.find((m) => m.receiver === 'web/sleep');
      expect(call?.success).toBe(false);
      expect(call?.content).toContain('"err_msg":"the call was cancelled"');
    });

    it('a client that disconnects mid-call stops the call on the tool server', async () => {
      const convUid = `tools-disconnect-${Date.now()}`;
      env.fake.enqueue(decide('sleep', { ms: 20000 }), answer('never'));
      const before = mcp.events.filter((e) => e.tool === 'sleep').length;
      const sleeping = () => mcp.events.filter((e) => e.tool === 'sleep').slice(before);
      const req = httpRequest(`${env.server.origin}${CHAT}`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
      });
      req.on('error', () => undefined);
      req.end(
        JSON.stringify({
          model: 'fake-gpt',
          messages: 'sleep',
          chat_mode: 'chat_app',
          chat_param: single,
          stream: true,
          conv_uid: convUid,
        }),
      );
      await waitFor(() => sleeping().some((e) => e.state === 'started'));
      req.destroy();
      await waitFor(() => sleeping().some((e) => e.state === 'cancelled'));
      expect(sleeping().map((e) => e.state)).toEqual(['started', 'cancelled']);
      let state = '';
      await waitFor(() => {
        void stored(convUid).then((c) => (state = c.state));
        return state === 'cancelled';
      });
    });

    it('a call that outlives the timeout fails and is fed back', async () => {
      const app = await createApp('single_agent', [
        { agent_name: 'ToolExpert', resources: [tool('local', ['sleep'])] },
      ]);
      env.fake.enqueue(decide('sleep', { ms: 5000 }), answer('too slow'));
      const res = await chat(app, 'sleep long');
      expect(plugins(contents(res.body).join('')).map((p) => [p.status, p.err_msg])).toEqual([
        ['failed', 'the tool did not answer within 2000 ms'],
      ]);
      expect(lastUserMessage(1)).toMatch(/^The call of sleep failed: the tool did not answer within 2000 ms/);
    });

    it('auto_plan: the Planner sees the tools and assigns the ToolExpert; the Summarizer answers from the result', async () => {
      const app = await createApp('auto_plan', [
        { agent_name: 'ToolExpert', resources: [tool('local', ['echo', 'fail'])] },
        { agent_name: 'Summarizer' },
      ]);
      env.fake.enqueue(
        JSON.stringify([
          { serial_number: 1, agent: 'ToolExpert', content: 'Echo the greeting', rely: '' },
          { serial_number: 2, agent: 'Summarizer', content: 'Report what the tool said', rely: '1' },
        ]),
        decide('fail', { reason: 'first try' }),
        decide('echo', { text: 'hello from stdio' }),
        answer('The tool said: hello from stdio'),
        'The tool answered "hello from stdio".',
      );
      const res = await chat(app, 'Greet through the tool');
      const doc = contents(res.body).join('');
      expect(plugins(doc)).toEqual([
        {
          name: 'fail',
          args: { reason: 'first try' },
          logo: null,
          result: 'failed: first try',
          err_msg: 'failed: first try',
          status: 'failed',
        },
        {
          name: 'echo',
          args: { text: 'hello from stdio' },
          logo: null,
          result: 'hello from stdio',
          err_msg: null,
          status: 'complete',
        },
      ]);
      const planner = String(env.fake.requests[0].body?.messages?.[0].content);
      expect(planner).toContain('  - tool echo: Returns the given text.');
      expect(lastUserMessage(2)).toMatch(/^The call of fail failed: failed: first try/);
      expect(lastUserMessage(4)).toContain('The tool said: hello from stdio');
      const conv = await stored(res.headers['x-conv-uid'] as string);
      expect(conv.state).toBe('complete');
      expect(conv.turns[0].answer).toBe('The tool answered "hello from stdio".');
    });

    it('a stdio server that crashes is started again and the next run works', async () => {
      const app = await createApp('single_agent', [
        { agent_name: 'ToolExpert', resources: [tool('local', ['pid', 'crash'])] },
      ]);
      const pidOf = async () => {
        env.fake.enqueue(decide('pid', {}), answer('pid'));
        const [item] = plugins(contents((await chat(app, 'pid')).body).join(''));
        expect(item.status).toBe('complete');
        return Number(item.result);
      };
      const first = await pidOf();
      env.fake.enqueue(decide('crash', {}), answer('it crashed'));
      const crashed = await chat(app, 'crash');
      expect(plugins(contents(crashed.body).join('')).map((p) => p.status)).toEqual(['failed']);
      const second = await pidOf();
      expect(second).toBeGreaterThan(0);
      expect(second).not.toBe(first);
      expect(() => process.kill(first, 0)).toThrow();
    });

    it('keeps one connection per server across runs, and counts tool calls in the metrics', async () => {
      const opened = env.server.app.get(ToolsService).connectionsOpened();
      expect(opened.web).toBe(1);
      expect(opened.local).toBe(2); // the crash above
      const metrics = await http.get('/api/metrics').set(AUTH);
      expect(metrics.text).toMatch(
        /ensemble_tool_call_duration_seconds_count\{server="web",tool="add",outcome="complete"\} [1-9]/,
      );
      expect(metrics.text).toMatch(
        /ensemble_tool_call_duration_seconds_count\{server="web",tool="add",outcome="invalid_args"\} 1/,
      );
      expect(metrics.text).toMatch(
        /ensemble_tool_call_duration_seconds_count\{server="web",tool="sleep",outcome="cancelled"\} 2/,
      );
      expect(metrics.text).toMatch(
        /ensemble_tool_call_duration_seconds_count\{server="local",tool="sleep",outcome="timeout"\} 1/,
      );
    });
  });
});

async function waitFor(probe: () => boolean, ms = 8000): Promise<void> {
  const until = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('readiness of a tool server no run has used yet', () => {
  it('contacts it when readiness is asked, and reports it unreachable without failing ready', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ensemble-tools-ready-'));
    const toolsFile = join(dir, 'tools.json');
    writeFileSync(
      toolsFile,
      JSON.stringify({
        servers: [{ name: 'down', transport: 'streamable_http', url: 'http://127.0.0.1:9/mcp', timeout_ms: 1000 }],
      }),
    );
    const server = await startTestServer({ TOOLS_FILE: toolsFile });
    try {
      const http = request(server.origin);
      const first = await http.get('/api/ready').expect(200);
      expect(['idle', 'connecting', 'unreachable']).toContain(first.body.info.tools.servers.down.state);
      let state = first.body.info.tools.servers.down.state as string;
      for (let i = 0; i < 100 && state !== 'unreachable'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        state = (await http.get('/api/ready').expect(200)).body.info.tools.servers.down.state as string;
      }
      expect(state).toBe('unreachable');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
