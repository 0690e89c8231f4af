/**
 * Tools in the compiled server, as `npm start` runs it: a bad tools file
 * stops the start (exit 78) naming each bad entry; a good one gives runs
 * its tools, and the stdio servers Ensemble started stop with it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parseVis } from '@ensemble/agents';
import { contents, FAKE_KEY, FAKE_KEY_ENV, rawPost } from './support/chat-env';
import {
  sharedBuild,
  CompiledServerBuild,
  RunningProcess,
  runToExit,
  startCompiledServer,
} from './support/compiled-server';
import { createTestDatabase, TestDatabase } from './support/database';
import { FakeOpenAI, startFakeOpenAI } from './support/fake-openai';
import { API_KEY, AUTH } from './support/server';

const STDIO_SCRIPT = join(__dirname, 'support', 'mcp-stdio-server.js');
const decide = (tool: string, args: unknown) => JSON.stringify({ thought: `call ${tool}`, tool_name: tool, args });

describe('compiled server with a tools file', () => {
  let build: CompiledServerBuild;
  let dir: string;
  let running: RunningProcess | undefined;
  let db: TestDatabase | undefined;
  let fake: FakeOpenAI | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ensemble-tools-compiled-'));
    build = await sharedBuild();
  }, 240_000);

  afterAll(async () => {
    await running?.stop();
    await fake?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('refuses to start with a bad tools file, naming each bad entry (exit 78)', async () => {
    const toolsFile = join(dir, 'bad-tools.json');
    writeFileSync(
      toolsFile,
      JSON.stringify({
        servers: [
          { name: 'fine', transport: 'stdio', command: 'node' },
          { name: 'nourl', transport: 'streamable_http' },
          { name: 'bad name!', transport: 'stdio', command: 'node', env: ['NOT_SET_ANYWHERE_42'] },
        ],
      }),
    );
    const { code, output } = await runToExit(build.main, { API_KEYS: API_KEY, TOOLS_FILE: toolsFile });
    expect(code).toBe(78);
    expect(output).toContain('Invalid configuration:');
    expect(output).toContain(`TOOLS_FILE ${toolsFile}: servers[1].url must be an http:// or https:// URL\n`);
    expect(output).toContain(
      `TOOLS_FILE ${toolsFile}: servers[2].name must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit\n`,
    );
    expect(output).toContain(`TOOLS_FILE ${toolsFile}: servers[2].env: the variable NOT_SET_ANYWHERE_42 is not set\n`);
    expect(output).not.toContain('servers[0]');
  }, 30_000);

  it('runs an auto_plan app whose ToolExpert calls a stdio server; the server stops with Ensemble', async () => {
    fake = await startFakeOpenAI({ apiKey: FAKE_KEY });
    db = await createTestDatabase();
    const modelsFile = join(dir, 'models.json');
    writeFileSync(
      modelsFile,
      JSON.stringify({
        models: [{ name: 'fake-gpt', provider: 'openai', model: 'm', base_url: fake.url, api_key_env: FAKE_KEY_ENV }],
      }),
    );
    const toolsFile = join(dir, 'tools.json');
    writeFileSync(
      toolsFile,
      JSON.stringify({
        servers: [{ name: 'local', transport: 'stdio', command: process.execPath, args: [STDIO_SCRIPT] }],
      }),
    );
    running = await startCompiledServer(build.main, {
      API_KEYS: API_KEY,
      DATABASE_URL: db.url,
      MODELS_FILE: modelsFile,
      TOOLS_FILE: toolsFile,
      [FAKE_KEY_ENV]: FAKE_KEY,
    });
    const http = request(running.origin);
    const created = await http
      .post('/api/v2/serve/apps')
      .set(AUTH)
      .send({
        app_name: 'compiled-tools',
        team_mode: 'auto_plan',
        details: [
          { agent_name: 'ToolExpert', resources: [{ type: 'tool(mcp)', name: 'local', value: '{"server":"local"}' }] },
          { agent_name: 'Summarizer' },
        ],
      });
    expect(created.status).toBe(201);
    fake.enqueue(
      JSON.stringify([
        { serial_number: 1, agent: 'ToolExpert', content: 'Find the pid', rely: '' },
        { serial_number: 2, agent: 'Summarizer', content: 'Report it', rely: '1' },
      ]),
      decide('pid', {}),
      JSON.stringify({ thought: 'done', answer: 'got the pid' }),
      'The tool server runs.',
    );
    const res = await rawPost(running.origin, '/api/v2/chat/completions', {
      model: 'fake-gpt',
      messages: 'Which pid?',
      chat_mode: 'chat_app',
      chat_param: created.body.data.app_code,
      stream: true,
      incremental: true,
    });
    const doc = contents(res.body).join('');
    const blocks = parseVis(doc);
    const messages = blocks.flatMap((b) => (b.tag === 'agent-plans' ? b.items.flatMap((i) => i.messages) : b.items));
    const plugin = messages.find((m) => m.markdown.startsWith('```vis-plugin\n'));
    const item = JSON.parse(plugin!.markdown.slice(14, -4)) as { name: string; status: string; result: string };
    expect(item).toMatchObject({ name: 'pid', status: 'complete' });
    const pid = Number(item.result);
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(messages[messages.length - 1].markdown).toBe('The tool server runs.');

    await running.stop();
    running = undefined;
    expect(() => process.kill(pid, 0)).toThrow();
  }, 60_000);
});
