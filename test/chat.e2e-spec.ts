import OpenAI from 'openai';
import request from 'supertest';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { parseVis } from '@ensemble/agents';
import { ConversationsService } from '../apps/server/src/conversations/conversations.service';
import { expectDualError } from './support/expect-error';
import { ChatEnv, contents, dataLines, rawPost, startChatEnv, streamPost } from './support/chat-env';
import type { ChatRequestBody, FakeReply } from './support/fake-openai';
import { API_KEY, AUTH, startTestServer } from './support/server';

const CHAT = '/api/v2/chat/completions';
const PLAN = JSON.stringify([
  { serial_number: 1, agent: 'AI Assistant', content: 'Collect the facts about AWEL', rely: '' },
  { serial_number: 2, agent: 'Summarizer', content: 'Summarize the facts', rely: '1' },
]);

const text = (m: { content: unknown }) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content));
const isPlanner = (body: ChatRequestBody) => (body.messages ?? []).some((m) => text(m).includes('serial_number'));
const lastUser = (body: ChatRequestBody) =>
  text([...(body.messages ?? [])].reverse().find((m) => m.role === 'user') ?? { content: '' });

/** Plans for the Planner, a deterministic answer for every other call. */
function scripted(body: ChatRequestBody): FakeReply {
  if (isPlanner(body)) return { text: PLAN };
  return { text: `Answer about ${lastUser(body).slice(0, 40).replace(/\s+/g, ' ')} — «ünïcode» "quoted"` };
}

/** The closing text a vis snapshot adds after its document: open messages, items (`running`) and blocks. */
const SNAPSHOT_CLOSINGS = ['","resource":null}', '\\",\\"resource\\":null}', ']\\n```","status":"running"}', ']\n```'];

/** A snapshot without the closing tail it was given (its document so far, or a prefix of it). */
function withoutClosings(view: string): string {
  for (;;) {
    const closing = SNAPSHOT_CLOSINGS.find((c) => view.endsWith(c));
    if (!closing) return view;
    view = view.slice(0, -closing.length);
  }
}

/** `incremental: false` views: each parses, differs from the one before and extends its document. */
function expectEachViewExtendsThePrevious(views: string[]): void {
  for (const view of views) expect(() => parseVis(view)).not.toThrow();
  for (let i = 1; i < views.length; i++) {
    expect(views[i]).not.toBe(views[i - 1]);
    const before = withoutClosings(views[i - 1]);
    expect(before.length).toBeGreaterThan(0);
    expect(views[i].slice(0, before.length)).toBe(before);
  }
}

/** Waits for `condition`, polling, at most `ms`. */
async function waitUntil(condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms: ${condition.toString()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** DB-GPT's fields, sent in the body next to OpenAI's (the SDK passes unknown fields through). */
const dbgpt = (fields: Record<string, unknown>) => fields as Record<string, never>;

/** Every message of a vis view, nested blocks included. */
function visMessages(doc: string): { sender: string; markdown: string }[] {
  return parseVis(doc).flatMap((block) =>
    block.tag === 'agent-messages'
      ? (block.items as { sender: string; markdown: string }[])
      : (block.items as { markdown: string }[]).flatMap((item) => visMessages(item.markdown)),
  );
}

describe('Chat completions (real Postgres, real sockets)', () => {
  let env: ChatEnv;
  let http: ReturnType<typeof request>;
  let openai: OpenAI;
  let db: DataSource;
  const apps: Record<string, string> = {};

  const createApp = async (name: string, teamMode: string, agents: string[], extra: Record<string, unknown> = {}) => {
    const res = await http
      .post('/api/v2/serve/apps')
      .set(AUTH)
      .send({ app_name: name, team_mode: teamMode, details: agents.map((agent_name) => ({ agent_name })), ...extra });
    expect(res.status).toBe(201);
    return res.body.data.app_code as string;
  };

  beforeAll(async () => {
    env = await startChatEnv({ SSE_PING_INTERVAL_MS: '150' });
    http = request(env.server.origin);
    openai = new OpenAI({ apiKey: API_KEY, baseURL: `${env.server.origin}/api/v2`, maxRetries: 0 });
    db = env.server.app.get(DataSource);
    apps.single = await createApp('seed', 'single_agent', ['Summarizer']);
    apps.plan = await createApp('planner', 'auto_plan', ['AI Assistant', 'Summarizer']);
    apps.pipeline = await createApp('pipeline', 'awel_layout', ['AI Assistant', 'Summarizer']);
    apps.empty = await createApp('empty', 'auto_plan', []);
    apps.kept = await createApp('kept', 'single_agent', ['AI Assistant'], { keep_start_rounds: 0, keep_end_rounds: 1 });
    apps.native = (
      await http
        .post('/api/v2/serve/apps')
        .set(AUTH)
        .send({
          app_name: 'native',
          team_mode: 'native_app',
          team_context: { chat_scene: 'chat_normal' },
          details: [{ agent_name: 'AI Assistant', prompt_template: 'You are the NATIVE-PROMPT helper.' }],
        })
    ).body.data.app_code;
    apps.fallback = (
      await http
        .post('/api/v2/serve/apps')
        .set(AUTH)
        .send({
          app_name: 'fallback',
          team_mode: 'single_agent',
          details: [{ agent_name: 'Summarizer', llm_strategy: 'priority', llm_strategy_value: 'fake-gpt,backup-gpt' }],
        })
    ).body.data.app_code;
  });
  afterAll(() => env.close());
  beforeEach(() => {
    env.fake.reset();
    env.fake.setHandler(scripted);
  });

  describe('OpenAI SDK', () => {
    it('streams chat_normal with text, finish_reason and usage', async () => {
      env.fake.setHandler(() => ({
        text: 'Hello from the fake model',
        usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 },
      }));
      const stream = await openai.chat.completions.create({
        model: 'fake-gpt',
        messages: [{ role: 'user', content: 'Say hello' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let out = '';
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        out += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(out).toBe('Hello from the fake model');
      expect(finish).toBe('stop');
      expect(usage).toEqual({ prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
      expect(env.fake.chatRequests[0].body!.model).toBe('gpt-4o-mini');
      expect(env.fake.chatRequests[0].headers.authorization).toBe('Bearer sk-fake-upstream-key');
    });

    it('answers chat_normal without a stream', async () => {
      env.fake.setHandler(() => ({
        text: 'One answer',
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }));
      const res = await openai.chat.completions.create({
        model: 'fake-gpt',
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(res.object).toBe('chat.completion');
      expect(res.choices[0].message).toMatchObject({ role: 'assistant', content: 'One answer' });
      expect(res.choices[0].finish_reason).toBe('stop');
      expect(res.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    });

    it('streams chat_app (extra body) with the vis view, finish_reason and usage', async () => {
      const stream = await openai.chat.completions.create({
        model: 'fake-gpt',
        messages: [{ role: 'user', content: 'Introduce AWEL' }],
        stream: true,
        stream_options: { include_usage: true },
        ...dbgpt({ chat_mode: 'chat_app', chat_param: apps.single }),
      });
      let out = '';
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      let id = '';
      for await (const chunk of stream) {
        id = chunk.id;
        out += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(out).toContain('```agent-plans\n');
      expect(out).toContain('Answer about Introduce AWEL');
      expect(finish).toBe('stop');
      expect(usage!.total_tokens).toBeGreaterThan(0);
      expect(id).toMatch(/^[0-9a-f-]{36}$/); // the conv_uid
    });

    it('answers chat_app without a stream: one chat.completion with the final view', async () => {
      const res = await openai.chat.completions.create({
        model: 'fake-gpt',
        messages: [{ role: 'user', content: 'Introduce AWEL' }],
        stream: false,
        ...dbgpt({ chat_mode: 'chat_app', chat_param: apps.plan }),
      });
      expect(res.object).toBe('chat.completion');
      const blocks = parseVis(res.choices[0].message.content!);
      const plans = blocks.find((b) => b.tag === 'agent-plans');
      expect((plans?.items as { name: string; status: string }[]).map((i) => `${i.name}:${i.status}`)).toEqual([
        'Collect the facts about AWEL:complete',
        'Summarize the facts:complete',
      ]);
      expect(res.usage!.total_tokens).toBeGreaterThan(0);
    });
  });

  describe('framing (raw socket)', () => {
    it('sends exact SSE frames: data lines of compact JSON, final chunk, usage chunk, [DONE]', async () => {
      env.fake.setHandler(() => ({
        tokens: ['Hel', 'lo'],
        usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
      }));
      const res = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'Hi',
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['x-conv-uid']).toMatch(/^[0-9a-f-]{36}$/);
      const frames = res.body.split('\n\n');
      expect(frames.pop()).toBe('');
      expect(frames[frames.length - 1]).toBe('data: [DONE]');
      for (const f of frames) {
        expect(f).toMatch(/^data: /);
        expect(f).not.toMatch(/\n/);
      }
      const chunks = frames.slice(0, -1).map((f) => f.slice(6));
      for (const c of chunks) expect(JSON.stringify(JSON.parse(c))).toBe(c);
      const parsed = chunks.map((c) => JSON.parse(c));
      const id = parsed[0].id;
      expect(parsed.slice(0, 2)).toEqual([
        {
          id,
          object: 'chat.completion.chunk',
          created: expect.any(Number),
          model: 'fake-gpt',
          choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }],
        },
        {
          id,
          object: 'chat.completion.chunk',
          created: expect.any(Number),
          model: 'fake-gpt',
          choices: [{ index: 0, delta: { role: 'assistant', content: 'lo' }, finish_reason: null }],
        },
      ]);
      expect(parsed[2].choices).toEqual([{ index: 0, delta: { content: '' }, finish_reason: 'stop' }]);
      expect(parsed[3]).toMatchObject({
        choices: [],
        usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
      });
      expect(parsed).toHaveLength(4);
      expect(res.body).not.toMatch(/^(event|id):/m);
    });

    it('keeps a silent stream alive with ": ping" comments only', async () => {
      env.fake.setHandler(() => ({ text: 'late', firstTokenDelayMs: 500 }));
      const res = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'x',
        chat_mode: 'chat_app',
        chat_param: apps.single,
      });
      expect(res.body).toContain(': ping\n\n');
      expect(res.body).not.toMatch(/^event:/m);
      expect(res.body.endsWith('data: [DONE]\n\n')).toBe(true);
    });

    it('incremental deltas concatenate to the last full view of the same run', async () => {
      const body = (incremental: boolean) => ({
        model: 'fake-gpt',
        messages: [{ role: 'user', content: 'Introduce AWEL "in depth"\nplease' }],
        chat_mode: 'chat_app',
        chat_param: apps.plan,
        incremental,
        stream: true,
      });
      const inc = contents((await rawPost(env.server.origin, CHAT, body(true))).body);
      const full = contents((await rawPost(env.server.origin, CHAT, body(false))).body);
      // the final chunk (with finish_reason) carries "" in both modes
      expect([inc.pop(), full.pop()]).toEqual(['', '']);
      expect(inc.length).toBeGreaterThan(5);
      expect(full.length).toBeGreaterThan(5);
      expect(inc.join('')).toBe(full[full.length - 1]);
      // every full chunk is a complete, parseable document, each extending the one before
      expectEachViewExtendsThePrevious(full);
    });

    it('a run waits for its rows before its first LLM request, then streams every view', async () => {
      // The conversation rows cannot be written until the lock is released: no upstream call meanwhile.
      const locker = new Client({ connectionString: env.server.db.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE conversations IN EXCLUSIVE MODE');
        const streaming = rawPost(env.server.origin, CHAT, {
          model: 'fake-gpt',
          messages: 'Introduce AWEL',
          chat_mode: 'chat_app',
          chat_param: apps.plan,
          incremental: false,
          stream: true,
        });
        await waitUntil(async () => {
          const { rows } = await locker.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
             WHERE c.relname = 'conversations' AND NOT l.granted`,
          );
          return rows[0].n > 0;
        });
        expect(env.fake.chatRequests).toHaveLength(0);
        await locker.query('COMMIT');
        const full = contents((await streaming).body).filter((c) => c !== '');
        expect(env.fake.chatRequests).toHaveLength(3);
        expect(full.length).toBeGreaterThan(5);
        expectEachViewExtendsThePrevious(full);
        expect(JSON.stringify(parseVis(full[full.length - 1]))).toContain('Summarize the facts');
      } finally {
        await locker.end();
      }
    });

    it('enable_vis false streams the plain answer', async () => {
      const res = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'Introduce AWEL',
        chat_mode: 'chat_app',
        chat_param: apps.single,
        enable_vis: false,
      });
      const out = contents(res.body).join('');
      expect(out).toContain('Answer about Introduce AWEL');
      expect(out).not.toContain('```');
    });
  });

  it('serves the seed flow to a DB-GPT-style client', async () => {
    const res = await rawPost(env.server.origin, CHAT, {
      model: 'chatgpt_proxyllm',
      messages: 'Introduce AWEL',
      chat_mode: 'chat_app',
      chat_param: apps.single,
      stream: true,
    });
    const lines = dataLines(res.body);
    const chunks = lines.map((l) => JSON.parse(l));
    expect(chunks.every((c) => c.id === chunks[0].id && c.object === 'chat.completion.chunk')).toBe(true);
    const view = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    const blocks = parseVis(view);
    expect(blocks).toHaveLength(1);
    expect(blocks[0].tag).toBe('agent-plans');
    const items = blocks[0].items as { name: string; num: number; agent: string; status: string; markdown: string }[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ name: 'Introduce AWEL', num: 1, agent: 'Human', status: 'complete' });
    const inner = parseVis(items[0].markdown);
    expect(inner[0].tag).toBe('agent-messages');
    expect(inner[0].items).toEqual([
      expect.objectContaining({
        sender: 'Summarizer',
        receiver: 'Human',
        model: 'fake-gpt',
        markdown: expect.stringContaining('Answer about Introduce AWEL — «ünïcode» "quoted"'),
      }),
    ]);
    expect(view).toContain('«ünïcode»'); // unicode as is
  });

  describe('team modes end to end', () => {
    it('awel_layout runs the details in order, each output feeding the next', async () => {
      env.fake.setHandler((body) => ({ text: `stage output for ${lastUser(body).length} chars` }));
      const res = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'Introduce AWEL',
        chat_mode: 'chat_app',
        chat_param: apps.pipeline,
      });
      expect(res.status).toBe(200);
      const senders = visMessages(contents(res.body).join('')).map((m) => m.sender);
      expect(senders).toEqual(['AI Assistant', 'Summarizer']);
      expect(env.fake.chatRequests).toHaveLength(2);
      // the second stage's prompt carries the first stage's output
      expect(JSON.stringify(env.fake.chatRequests[1].body!.messages)).toContain('stage output for');
    });

    it('native_app chats with the app prompt (DB-GPT refuses native apps over the API)', async () => {
      const res = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'hello native',
        chat_mode: 'chat_app',
        chat_param: apps.native,
        enable_vis: false,
      });
      expect(res.status).toBe(200);
      expect(contents(res.body).join('')).toContain('Answer about');
      expect(JSON.stringify(env.fake.chatRequests[0].body!.messages)).toContain('NATIVE-PROMPT');
    });

    it('a priority strategy falls back to the next model when the first fails before its first token', async () => {
      env.fake.setHandler(() => ({ status: 503 }));
      env.backup.reset();
      env.backup.setHandler(() => ({ text: 'backup answered' }));
      const res = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'q',
        chat_mode: 'chat_app',
        chat_param: apps.fallback,
        enable_vis: false,
      });
      expect(contents(res.body).join('')).toContain('backup answered');
      expect(env.backup.chatRequests).toHaveLength(1);
      expect(env.backup.chatRequests[0].body!.model).toBe('gpt-4o');
    });
  });

  describe('stored runs and history', () => {
    it('stores the conversation, messages and plan steps as streamed', async () => {
      const res = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'Introduce AWEL',
        chat_mode: 'chat_app',
        chat_param: apps.plan,
        user_name: 'ann',
      });
      const convUid = res.headers['x-conv-uid'] as string;
      const view = contents(res.body).join('');
      const got = await http.get(`/api/v2/conversations/${convUid}`).set(AUTH);
      expect(got.status).toBe(200);
      const conv = got.body.data;
      expect(conv).toMatchObject({
        conv_uid: convUid,
        chat_mode: 'chat_app',
        app_code: apps.plan,
        user_name: 'ann',
        state: 'complete',
        turn_count: 1,
      });
      const turn = conv.turns[0];
      expect(turn).toMatchObject({ turn: 1, state: 'complete', input: 'Introduce AWEL', team_mode: 'auto_plan' });
      expect(
        turn.plan_steps.map((s: { num: number; agent: string; state: string; rely: number[] }) => [
          s.num,
          s.agent,
          s.state,
          s.rely,
        ]),
      ).toEqual([
        [1, 'AI Assistant', 'complete', []],
        [2, 'Summarizer', 'complete', [1]],
      ]);
      expect(turn.messages.map((m: { sender: string }) => m.sender)).toEqual(['Planner', 'AI Assistant', 'Summarizer']);
      expect(visMessages(view).map((m) => [m.sender, m.markdown])).toEqual(
        turn.messages.map((m: { sender: string; content: string }) => [m.sender, m.content]),
      );
      expect(turn.answer).toBe(turn.messages[2].content);
      expect(turn.usage.total_tokens).toBeGreaterThan(0);
      const list = await http.get('/api/v2/conversations').query({ app_code: apps.plan, user_name: 'ann' }).set(AUTH);
      expect(list.body.data.conversations.map((c: { conv_uid: string }) => c.conv_uid)).toEqual([convUid]);
    });

    it('stores a chat_normal turn: its one message and the answer', async () => {
      env.fake.setHandler(() => ({
        text: 'Stored plain answer',
        usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
      }));
      const res = await rawPost(env.server.origin, CHAT, { model: 'fake-gpt', messages: 'keep this', stream: true });
      const convUid = res.headers['x-conv-uid'] as string;
      const conv = (await http.get(`/api/v2/conversations/${convUid}`).set(AUTH)).body.data;
      expect(conv).toMatchObject({ conv_uid: convUid, chat_mode: 'chat_normal', state: 'complete', turn_count: 1 });
      expect(conv.turns).toHaveLength(1);
      expect(conv.turns[0]).toMatchObject({
        turn: 1,
        state: 'complete',
        input: 'keep this',
        answer: 'Stored plain answer',
      });
      expect(
        conv.turns[0].messages.map((m: Record<string, unknown>) => [m.sender, m.receiver, m.content, m.success]),
      ).toEqual([['assistant', 'Human', 'Stored plain answer', true]]);
    });

    it('a failed auto_plan run marks the steps it did not finish failed', async () => {
      env.fake.setHandler((body) => (isPlanner(body) ? { text: PLAN } : { status: 400 }));
      const res = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'Introduce AWEL',
        chat_mode: 'chat_app',
        chat_param: apps.plan,
      });
      const convUid = res.headers['x-conv-uid'] as string;
      const steps: { num: number; state: string; run: string }[] = await db.query(
        `SELECT s.num, s.state, r.state AS run FROM conversation_plan_steps s JOIN conversation_runs r ON r.id = s.run_id
          WHERE r.conv_uid = $1 ORDER BY s.num`,
        [convUid],
      );
      expect(steps).toEqual([
        { num: 1, state: 'failed', run: 'failed' },
        { num: 2, state: 'failed', run: 'failed' },
      ]);
    });

    it('a second chat_app turn sees the first as history, trimmed by keep rounds', async () => {
      const convUid = 'conv-history-app';
      const ask = (q: string) =>
        rawPost(env.server.origin, CHAT, {
          model: 'fake-gpt',
          messages: q,
          chat_mode: 'chat_app',
          chat_param: apps.kept,
          conv_uid: convUid,
        });
      await ask('first question');
      await ask('second question');
      env.fake.reset();
      await ask('third question');
      const prompt = JSON.stringify(env.fake.chatRequests[0].body!.messages);
      // keep_end_rounds 1: only the latest earlier turn
      expect(prompt).toContain('second question');
      expect(prompt).not.toContain('first question');
      expect(prompt).toContain('third question');
    });

    it('a second chat_normal turn with the same conv_uid includes the first', async () => {
      const convUid = 'conv-history-normal';
      await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'My name is Ada',
        conv_uid: convUid,
        stream: true,
      });
      env.fake.reset();
      await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'What is my name?',
        conv_uid: convUid,
        stream: true,
      });
      const messages = env.fake.chatRequests[0].body!.messages!;
      expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
      expect(messages[0].content).toBe('My name is Ada');
      expect(messages[2].content).toBe('What is my name?');
    });

    it('refuses a conv_uid of another app (409) and deletes conversations', async () => {
      await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'q',
        chat_mode: 'chat_app',
        chat_param: apps.single,
        conv_uid: 'conv-owned',
      });
      const other = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'q',
        chat_mode: 'chat_app',
        chat_param: apps.plan,
        conv_uid: 'conv-owned',
      });
      expect(other.status).toBe(409);
      expect(JSON.parse(other.body).err_code).toBe('conversation_conflict');
      expect((await http.delete('/api/v2/conversations/conv-owned').set(AUTH)).body.data).toEqual([]);
      expect((await http.get('/api/v2/conversations/conv-owned').set(AUTH)).status).toBe(404);
    });

    it('marks runs of a dead server as failed at boot', async () => {
      await db.query(
        `INSERT INTO conversations (conv_uid, chat_mode, state, turns) VALUES ('conv-crashed', 'chat_normal', 'running', 1)`,
      );
      await db.query(
        `INSERT INTO conversation_runs (id, conv_uid, turn, chat_mode, input, state, instance_id) VALUES (gen_random_uuid(), 'conv-crashed', 1, 'chat_normal', 'q', 'running', 'dead-instance')`,
      );
      await env.server.app.get(ConversationsService).onApplicationBootstrap();
      const got = (await http.get('/api/v2/conversations/conv-crashed').set(AUTH)).body.data;
      expect(got.state).toBe('failed');
      expect(got.turns[0]).toMatchObject({ state: 'failed', error: expect.stringContaining('server stopped') });
    });
  });

  describe('disconnect and cancel', () => {
    const slow = (): FakeReply => ({ tokens: Array.from({ length: 50 }, (_, i) => `t${i} `), tokenDelayMs: 100 });

    async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
      const until = Date.now() + ms;
      for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        if (Date.now() > until) throw new Error('timed out waiting');
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    /** A slow chat_normal stream in conversation `convUid`. */
    const slowStream = (convUid: string) => {
      env.fake.setHandler(slow);
      return streamPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'long',
        conv_uid: convUid,
        stream: true,
      });
    };
    const stateOf = (convUid: string) =>
      waitFor(async () => {
        const rows: { state: string }[] = await db.query(
          `SELECT state FROM conversation_runs WHERE conv_uid = $1 AND state <> 'running'`,
          [convUid],
        );
        return rows[0]?.state;
      });

    it('a client closing mid-stream aborts the upstream call and stores the run cancelled', async () => {
      env.fake.setHandler(slow);
      const convUid = 'conv-disconnect';
      const streaming = streamPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'long',
        chat_mode: 'chat_app',
        chat_param: apps.single,
        conv_uid: convUid,
      });
      await streaming.firstContent;
      // once the upstream call is under way, hang up
      await waitUntil(() => env.fake.chatRequests.length === 1);
      streaming.hangUp();
      await streaming.done;
      expect(await env.fake.chatRequests[0].outcome).toBe('closed-early');
      expect(await stateOf(convUid)).toBe('cancelled');
    });

    it('a client closing a chat_normal stream aborts the upstream call and stores the run cancelled', async () => {
      const convUid = 'conv-disconnect-normal';
      const streaming = slowStream(convUid);
      await streaming.firstContent;
      streaming.hangUp();
      await streaming.done;
      expect(env.fake.chatRequests).toHaveLength(1);
      expect(await env.fake.chatRequests[0].outcome).toBe('closed-early');
      expect(await stateOf(convUid)).toBe('cancelled');
    });

    it('a cancelled auto_plan run marks its open plan steps failed', async () => {
      env.fake.setHandler((body) => (isPlanner(body) ? { text: PLAN } : slow()));
      const convUid = 'conv-cancel-plan';
      const streaming = streamPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'Introduce AWEL',
        chat_mode: 'chat_app',
        chat_param: apps.plan,
        conv_uid: convUid,
      });
      // The first step is under way.
      await waitUntil(() => env.fake.chatRequests.length === 2);
      expect((await http.post(`${CHAT}/${convUid}/cancel`).set(AUTH)).body.data.cancelled).toBe(true);
      await streaming.done;
      expect(await stateOf(convUid)).toBe('cancelled');
      const steps: { num: number; state: string }[] = await db.query(
        `SELECT s.num, s.state FROM conversation_plan_steps s JOIN conversation_runs r ON r.id = s.run_id
          WHERE r.conv_uid = $1 ORDER BY s.num`,
        [convUid],
      );
      expect(steps).toEqual([
        { num: 1, state: 'failed' },
        { num: 2, state: 'failed' },
      ]);
    });

    it('an explicit cancel from another connection does the same and ends the stream', async () => {
      const convUid = 'conv-cancel';
      const streaming = slowStream(convUid);
      // Cancelled once text has gone out: the stream then ends with an error chunk.
      await streaming.firstContent;
      const cancel = await http.post(`${CHAT}/${convUid}/cancel`).set(AUTH);
      expect(cancel.body.data).toEqual({ conv_uid: convUid, cancelled: true });
      const res = await streaming.done;
      const last = dataLines(res.body).pop()!;
      expect(JSON.parse(last).error).toMatchObject({ type: 'server_error' });
      expect(res.body.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(await env.fake.chatRequests[0].outcome).toBe('closed-early');
      expect(await stateOf(convUid)).toBe('cancelled');
      expect((await http.post(`${CHAT}/nope/cancel`).set(AUTH)).status).toBe(404);
      // nothing running any more
      expect((await http.post(`${CHAT}/${convUid}/cancel`).set(AUTH)).body.data).toEqual({
        conv_uid: convUid,
        cancelled: false,
      });
    });

    it('refuses a turn while the conversation has a run in progress (409 busy), then takes the next one', async () => {
      const convUid = 'conv-busy';
      const streaming = slowStream(convUid);
      await waitUntil(() => env.fake.chatRequests.length === 1);
      const busy = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'again',
        conv_uid: convUid,
        stream: true,
      });
      expectDualError(busy, 409, 'conversation_busy', 'conv_uid');
      // The refused turn wrote nothing: still one turn, still running.
      const [conv] = await db.query(`SELECT state, turns FROM conversations WHERE conv_uid = $1`, [convUid]);
      expect(conv).toEqual({ state: 'running', turns: 1 });
      expect((await http.post(`${CHAT}/${convUid}/cancel`).set(AUTH)).body.data.cancelled).toBe(true);
      await streaming.done;
      expect(await stateOf(convUid)).toBe('cancelled');
      env.fake.setHandler(() => 'third time');
      const next = await rawPost(env.server.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'third',
        conv_uid: convUid,
        stream: true,
      });
      expect(next.status).toBe(200);
      const turns: { turn: number; state: string }[] = await db.query(
        `SELECT turn, state FROM conversation_runs WHERE conv_uid = $1 ORDER BY turn`,
        [convUid],
      );
      expect(turns).toEqual([
        { turn: 1, state: 'cancelled' },
        { turn: 2, state: 'complete' },
      ]);
    });

    it('a cancel sent to another replica reaches the run (Postgres NOTIFY)', async () => {
      const other = await startTestServer(env.env, { db: env.server.db });
      try {
        const convUid = 'conv-cancel-replica';
        const streaming = slowStream(convUid);
        // Text has gone out (so the stream ends with an error chunk) and the run row says running.
        await streaming.firstContent;
        const [conv] = await db.query(`SELECT state FROM conversations WHERE conv_uid = $1`, [convUid]);
        expect(conv).toEqual({ state: 'running' });
        const cancel = await request(other.origin).post(`${CHAT}/${convUid}/cancel`).set(AUTH);
        expect(cancel.body.data).toEqual({ conv_uid: convUid, cancelled: true });
        const res = await streaming.done;
        expect(JSON.parse(dataLines(res.body).pop()!).error).toMatchObject({ type: 'server_error' });
        expect(res.body.endsWith('data: [DONE]\n\n')).toBe(true);
        expect(await env.fake.chatRequests[0].outcome).toBe('closed-early');
        expect(await stateOf(convUid)).toBe('cancelled');
      } finally {
        await other.close();
      }
    });
  });

  describe('errors', () => {
    const post = (body: unknown, headers?: Record<string, string>) => rawPost(env.server.origin, CHAT, body, headers);

    it('validates in the documented order with the documented codes, before any byte of a stream', async () => {
      // chat_param first, even when model and messages are missing too
      expectDualError(await post({ chat_mode: 'chat_app' }), 400, 'invalid_chat_param', 'chat_param');
      expectDualError(
        await post({ chat_mode: 'chat_app', chat_param: 'x', messages: 'hi' }),
        400,
        'invalid_model',
        'model',
      );
      expectDualError(await post({ model: 'fake-gpt', stream: true }), 400, 'invalid_messages', 'messages');
      expectDualError(
        await post({ model: 'fake-gpt', messages: [], stream: true }),
        400,
        'invalid_messages',
        'messages',
      );
      expectDualError(
        await post({ model: 'fake-gpt', messages: 'hi', chat_mode: 'chat_other', chat_param: 'x' }),
        400,
        'invalid_chat_mode',
        'chat_mode',
      );
      // known to DB-GPT, not served here: named as such, whatever else the body lacks
      for (const mode of ['chat_dashboard', 'chat_flow']) {
        const res = await post({ chat_mode: mode });
        expectDualError(res, 400, 'unsupported_chat_mode', 'chat_mode');
        expect(res.body).toContain(mode);
      }
      expectDualError(
        await post({ model: 'fake-gpt', messages: 'hi', chat_mode: 'chat_app', chat_param: 'no-such-app' }),
        404,
        'app_not_found',
        'app_code',
      );
      expectDualError(
        await post({ model: 'no-such-model', messages: 'hi', stream: true }),
        400,
        'model_not_found',
        'model',
      );
      expectDualError(
        await post({ model: 'fake-gpt', messages: 'hi', temperature: 'hot' }),
        400,
        'validation_error',
        'temperature',
      );
      expectDualError(
        await post({ model: 'fake-gpt', messages: 'hi', chat_mode: 'chat_app', chat_param: apps.empty }),
        400,
        'app_not_runnable',
        'chat_param',
      );
      expect(env.fake.chatRequests).toHaveLength(0);
    });

    it('a run whose rows cannot be written fails with a real status and makes no upstream call', async () => {
      env.fake.setHandler(() => 'never asked');
      const locker = new Client({ connectionString: env.server.db.url });
      await locker.connect();
      try {
        await locker.query(`ALTER TABLE conversations ADD CONSTRAINT test_refuse_new CHECK (false) NOT VALID`);
        for (const extra of [{}, { conv_uid: 'conv-refused' }]) {
          const res = await post({ model: 'fake-gpt', messages: 'hi', stream: true, ...extra });
          expectDualError(res, 500, 'internal_error', null);
          expect(JSON.parse(res.body).err_msg).not.toMatch(/constraint|violates|test_refuse_new/);
        }
        expect(env.fake.chatRequests).toHaveLength(0);
      } finally {
        await locker.query(`ALTER TABLE conversations DROP CONSTRAINT IF EXISTS test_refuse_new`);
        await locker.end();
      }
    });

    it('401 without a key', async () => {
      expectDualError(await post({ model: 'fake-gpt', messages: 'hi' }, {}), 401, 'invalid_api_key', null);
    });

    it('an upstream failure before the first token keeps its HTTP status; the fallback model is not used for an explicit model', async () => {
      env.fake.setHandler(() => ({ status: 500 }));
      expectDualError(await post({ model: 'fake-gpt', messages: 'hi', stream: true }), 503, 'upstream_error', null);
      env.fake.setHandler(() => ({ status: 429, headers: { 'retry-after': '7' } }));
      const limited = await post({ model: 'fake-gpt', messages: 'hi', stream: true });
      expectDualError(limited, 429, 'upstream_rate_limited', null);
      expect(limited.headers['retry-after']).toBe('7');
    });

    it('an upstream failure mid-stream is one failure chunk (content and error) then [DONE]', async () => {
      env.fake.setHandler(() => ({ tokens: ['a ', 'b ', 'c '], cutAfterTokens: 2 }));
      const res = await post({ model: 'fake-gpt', messages: 'hi', stream: true });
      expect(res.status).toBe(200);
      const lines = dataLines(res.body);
      const last = JSON.parse(lines[lines.length - 1]);
      expect(last).toEqual({
        id: expect.stringMatching(/^chatcmpl-/),
        object: 'chat.completion.chunk',
        created: expect.any(Number),
        model: 'fake-gpt',
        choices: [
          {
            index: 0,
            delta: { role: 'assistant', content: `\n\nThe answer could not be completed: ${last.error.message}` },
            finish_reason: 'stop',
          },
        ],
        error: expect.objectContaining({ code: 'upstream_error', type: 'server_error' }),
      });
      expect(res.body.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(contents(res.body).join('')).toBe(`a b \n\nThe answer could not be completed: ${last.error.message}`);
    });

    it('lists the configured models in OpenAI shape', async () => {
      const res = await http.get('/api/v2/models').set(AUTH);
      expect(res.body.object).toBe('list');
      expect(res.body.data.map((m: { id: string }) => m.id)).toEqual(
        expect.arrayContaining(['fake-gpt', 'backup-gpt']),
      );
      const sdk = await openai.models.list();
      expect(sdk.data.map((m) => m.id)).toContain('fake-gpt');
    });
  });

  it('reports runs, LLM latency, time to first token, tokens and overhead in the metrics', async () => {
    // Counts what this test adds: it holds on its own, whatever ran before.
    const metrics = async () => {
      const text = (await http.get('/api/metrics').set(AUTH)).text;
      return (series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line ? Number(line.slice(series.length + 1)) : 0;
      };
    };
    const before = await metrics();
    env.fake.setHandler(() => ({
      text: 'metered answer',
      usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 },
    }));
    await rawPost(env.server.origin, CHAT, { model: 'fake-gpt', messages: 'count me', stream: true });
    await rawPost(env.server.origin, CHAT, {
      model: 'fake-gpt',
      messages: 'count me too',
      chat_mode: 'chat_app',
      chat_param: apps.single,
    });
    // A run cancelled before its model answered anything.
    env.fake.setHandler(() => ({ text: 'never seen', firstTokenDelayMs: 20_000 }));
    const convUid = 'conv-metrics-cancelled';
    const streaming = rawPost(env.server.origin, CHAT, {
      model: 'fake-gpt',
      messages: 'cancel me',
      conv_uid: convUid,
      stream: true,
    });
    await waitUntil(() => env.fake.chatRequests.length === 3);
    expect((await http.post(`${CHAT}/${convUid}/cancel`).set(AUTH)).body.data.cancelled).toBe(true);
    await streaming;
    const after = await metrics();
    const added = (series: string) => after(series) - before(series);
    expect({
      normalComplete: added('ensemble_chat_runs_total{mode="chat_normal",outcome="complete"}'),
      appComplete: added('ensemble_chat_runs_total{mode="chat_app",outcome="complete"}'),
      normalCancelled: added('ensemble_chat_runs_total{mode="chat_normal",outcome="cancelled"}'),
      inputTokens: added('ensemble_llm_tokens_total{model="fake-gpt",kind="input"}'),
      outputTokens: added('ensemble_llm_tokens_total{model="fake-gpt",kind="output"}'),
      callsOk: added('ensemble_llm_call_duration_seconds_count{model="fake-gpt",outcome="ok"}'),
      firstTokens: added('ensemble_llm_time_to_first_token_seconds_count{model="fake-gpt"}'),
      appOverhead: added('ensemble_request_overhead_seconds_count{mode="chat_app"}'),
    }).toEqual({
      normalComplete: 1,
      appComplete: 1,
      normalCancelled: 1,
      inputTokens: 22,
      outputTokens: 4,
      callsOk: 2,
      firstTokens: 2,
      appOverhead: 1,
    });
    expect(after('ensemble_open_streams')).toBe(0);
  });
});
