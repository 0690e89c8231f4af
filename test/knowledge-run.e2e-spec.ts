import request from 'supertest';
import { DataSource } from 'typeorm';
import { parseVis } from '@ensemble/agents';
import { ChatEnv, rawPost, startChatEnv } from './support/chat-env';
import { ChatRequestBody } from './support/fake-openai';
import { createSpace, syncAndWait, uploadDocument } from './support/knowledge';
import { AUTH } from './support/server';

const AWEL = [
  '# AWEL',
  '',
  'AWEL (Agentic Workflow Expression Language) describes agent workflows as operators.',
  '',
  '## Operators',
  '',
  'Operators are connected into a directed acyclic graph; each operator passes its output downstream.',
  '',
  '## Triggers',
  '',
  'An HTTP trigger starts a workflow when a request arrives.',
].join('\n');

const PLAN = JSON.stringify([
  { serial_number: 1, agent: 'Summarizer', content: 'Explain how AWEL operators connect', rely: '' },
]);
const isPlanner = (body: ChatRequestBody) =>
  (body.messages ?? []).some((m) => typeof m.content === 'string' && m.content.includes('serial_number'));

/** The content of the last `data:` chunk that has choices. */
function lastView(sse: string): string {
  const chunks = sse
    .split('\n\n')
    .filter((f) => f.startsWith('data: {'))
    .map((f) => JSON.parse(f.slice(6)) as { choices: { delta: { content?: string } }[] })
    .filter((c) => c.choices.length && c.choices[0].delta.content);
  return chunks[chunks.length - 1].choices[0].delta.content!;
}

describe('A knowledge resource in a run (real Postgres, fake upstream)', () => {
  let env: ChatEnv;
  let http: ReturnType<typeof request>;
  let appCode: string;

  beforeAll(async () => {
    env = await startChatEnv();
    http = request(env.server.origin);
    const space = await createSpace(http, 'awel-docs', { language: 'english' });
    const doc = await uploadDocument(http, space.id, 'awel.md', AWEL);
    expect(await syncAndWait(http, doc.body.data.id, space.id)).toMatchObject({ status: 'FINISHED', chunk_size: 3 });
    const app = await http
      .post('/api/v2/serve/apps')
      .set(AUTH)
      .send({
        app_name: 'awel-expert',
        team_mode: 'auto_plan',
        details: [
          { agent_name: 'AI Assistant' },
          {
            agent_name: 'Summarizer',
            resources: [{ type: 'knowledge', name: 'awel', value: '{"space_name": "awel-docs", "top_k": 2}' }],
          },
        ],
      });
    expect(app.status).toBe(201);
    appCode = app.body.data.app_code as string;
  });
  afterAll(() => env.close());

  it('puts the passages in the prompt, the references in agent-messages, and stores them with the message', async () => {
    env.fake.setHandler((body) => (isPlanner(body) ? PLAN : 'Operators form a directed acyclic graph [1].'));
    const res = await rawPost(env.server.origin, '/api/v2/chat/completions', {
      model: 'fake-gpt',
      messages: 'How are AWEL operators connected?',
      chat_mode: 'chat_app',
      chat_param: appCode,
      conv_uid: 'kb-run-1',
      stream: true,
      incremental: false,
    });
    expect(res.status).toBe(200);

    const [, summarizerCall] = env.fake.chatRequests;
    const system = summarizerCall.body!.messages![0].content as string;
    const operators =
      '## Operators\n\nOperators are connected into a directed acyclic graph; each operator passes its output downstream.';
    expect(system).toMatch(/\[[12]\] \(awel\.md\) ## Operators\n\nOperators are connected/);
    expect(system).toContain(operators);

    const [planner, plans] = parseVis(lastView(res.body));
    expect(planner.tag).toBe('agent-messages');
    expect(plans.tag).toBe('agent-plans');
    const [step] = plans.items as { markdown: string; status: string }[];
    expect(step.status).toBe('complete');
    const [messages] = parseVis(step.markdown);
    const [message] = messages.items as { sender: string; markdown: string; resource: Record<string, unknown>[] }[];
    expect(message.sender).toBe('Summarizer');
    expect(message.markdown).toBe('Operators form a directed acyclic graph [1].');
    expect(message.resource).toHaveLength(2);
    expect(message.resource).toContainEqual({
      doc_name: 'awel.md',
      doc_id: expect.any(Number),
      chunk_id: expect.stringMatching(/^\d+$/),
      score: expect.any(Number),
      content: operators,
      metadata: { source: 'awel.md', Header1: 'AWEL', Header2: 'Operators' },
    });

    const db = env.server.app.get(DataSource);
    const rows = await db.query<{ sender: string; resource: unknown }[]>(
      `SELECT m.sender, m.resource FROM conversation_messages m JOIN conversation_runs r ON r.id = m.run_id
       WHERE r.conv_uid = 'kb-run-1' ORDER BY m.round`,
    );
    expect(rows).toEqual([
      { sender: 'Planner', resource: null },
      { sender: 'Summarizer', resource: message.resource },
    ]);
    const history = await http.get('/api/v2/conversations/kb-run-1').set(AUTH);
    expect(history.body.data.turns[0].messages[1].resource).toEqual(message.resource);
  });

  describe('chat_knowledge', () => {
    const ask = (fields: Record<string, unknown>) =>
      rawPost(env.server.origin, '/api/v2/chat/completions', {
        model: 'fake-gpt',
        chat_mode: 'chat_knowledge',
        chat_param: 'awel-docs',
        ...fields,
      });
    /** The `references` attribute of DB-GPT's `<references>` element at the end of an answer, parsed. */
    const referencesOf = (answer: string) => {
      const m = /\n\n<references title="References" references="([^"]*)"><\/references>$/.exec(answer);
      expect(m).not.toBeNull();
      const json = m![1]
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&');
      return JSON.parse(json) as { name: string; chunks: { id: string; content: string; recall_score: number }[] }[];
    };

    it('answers from the space with references, streamed and stored, with history by conv_uid', async () => {
      env.fake.reset();
      env.fake.enqueue('Through an HTTP trigger [1].', 'It starts the workflow [1].');
      const res = await ask({
        messages: 'What starts a workflow when a request arrives?',
        conv_uid: 'kb-chat-1',
        stream: true,
      });
      expect(res.status).toBe(200);
      const text = res.body
        .split('\n\n')
        .filter((f) => f.startsWith('data: {'))
        .map(
          (f) =>
            (JSON.parse(f.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '',
        )
        .join('');
      expect(text.startsWith('Through an HTTP trigger [1].\n\n<references')).toBe(true);
      const refs = referencesOf(text);
      expect(refs[0].name).toBe('awel.md');
      expect(refs[0].chunks[0].content).toBe(
        '## Triggers\n\nAn HTTP trigger starts a workflow when a request arrives.',
      );

      const [call] = env.fake.chatRequests;
      const system = call.body!.messages![0];
      expect(system.role).toBe('system');
      expect(system.content).toContain(
        '[1] (awel.md) ## Triggers\n\nAn HTTP trigger starts a workflow when a request arrives.',
      );

      const second = await ask({
        messages: 'And what do operators pass downstream?',
        conv_uid: 'kb-chat-1',
        stream: false,
      });
      expect(second.status).toBe(200);
      const completion = JSON.parse(second.body) as { object: string; choices: { message: { content: string } }[] };
      expect(completion.object).toBe('chat.completion');
      expect(completion.choices[0].message.content.startsWith('It starts the workflow [1].\n\n<references')).toBe(true);
      const secondCall = env.fake.chatRequests[1].body!.messages!;
      expect(secondCall.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
      expect(secondCall[1].content).toBe('What starts a workflow when a request arrives?');

      const history = await http.get('/api/v2/conversations/kb-chat-1').set(AUTH);
      expect(history.body.data.turns).toHaveLength(2);
      expect(history.body.data.turns[0]).toMatchObject({
        chat_mode: 'chat_knowledge',
        state: 'complete',
        answer: text,
      });
      expect(history.body.data.turns[0].messages[0].resource[0]).toMatchObject({ doc_name: 'awel.md' });
    });

    it('refuses an unknown space before any work (404 naming chat_param)', async () => {
      env.fake.reset();
      const res = await ask({ chat_param: 'no-such-space', messages: 'q', stream: true });
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ err_code: 'space_not_found', error: { param: 'chat_param' } });
      expect(env.fake.chatRequests).toHaveLength(0);
    });

    it('runs a native app whose scene is chat_knowledge', async () => {
      env.fake.reset();
      env.fake.enqueue('Operators form a DAG [1].');
      const app = await http
        .post('/api/v2/serve/apps')
        .set(AUTH)
        .send({
          app_name: 'native-kb',
          team_mode: 'native_app',
          team_context: { chat_scene: 'chat_knowledge' },
          details: [{ agent_name: 'AI Assistant', resources: [{ type: 'knowledge', name: 'kb', value: 'awel-docs' }] }],
        });
      expect(app.status).toBe(201);
      const res = await rawPost(env.server.origin, '/api/v2/chat/completions', {
        model: 'fake-gpt',
        chat_mode: 'chat_app',
        chat_param: app.body.data.app_code,
        messages: 'How do operators connect?',
        stream: false,
      });
      expect(res.status).toBe(200);
      expect(env.fake.chatRequests[0].body!.messages![0].content).toContain('[1] (awel.md) ## Operators');
      const [plans] = parseVis(
        (JSON.parse(res.body) as { choices: { message: { content: string } }[] }).choices[0].message.content,
      );
      const [messages] = parseVis((plans.items as { markdown: string }[])[0].markdown);
      const [message] = messages.items as { resource: { doc_name: string }[] }[];
      expect(message.resource[0].doc_name).toBe('awel.md');
    });
  });

  it('indexes a large document in the background: sync answers at once, other requests are served meanwhile', async () => {
    const space = await createSpace(http, 'large');
    const section = (n: number) => `## Section ${n}\n\n${'Harbour cranes lift containers onto ships. '.repeat(12)}\n\n`;
    const big = Array.from({ length: 4000 }, (_, n) => section(n)).join('');
    expect(big.length).toBeGreaterThan(2_000_000);
    const doc = await uploadDocument(http, space.id, 'big.md', big);
    expect(doc.status).toBe(201);
    const sync = await http
      .post('/api/v2/serve/knowledge/documents/sync')
      .set(AUTH)
      .send([{ doc_id: String(doc.body.data.id), space_id: String(space.id) }]);
    expect(sync.body.data).toEqual([doc.body.data.id]);
    const during = await http.get(`/api/v2/serve/knowledge/documents/${doc.body.data.id}`).set(AUTH);
    expect(during.body.data).toMatchObject({ status: 'RUNNING', chunk_size: 0 });
    expect((await http.get('/api/v2/serve/knowledge/spaces').set(AUTH)).status).toBe(200);
    // No chunk of a document being indexed is visible before all of them are.
    const early = await http
      .post(`/api/v2/serve/knowledge/spaces/${space.id}/retrieve`)
      .set(AUTH)
      .send({ query: 'cranes' });
    let done = during.body.data as { status: string; chunk_size: number };
    while (done.status === 'RUNNING') {
      await new Promise((r) => setTimeout(r, 50));
      done = (await http.get(`/api/v2/serve/knowledge/documents/${doc.body.data.id}`).set(AUTH)).body.data;
    }
    // Each section (about 530 characters) is over the 512-character chunk size: two chunks each.
    expect(done).toMatchObject({ status: 'FINISHED', chunk_size: 8000 });
    expect(early.body.data.length === 0 || early.body.data.length === 5).toBe(true);
  });
});
