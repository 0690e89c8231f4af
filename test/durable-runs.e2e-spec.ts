/**
 * Durable runs (SPEC §10) on two replicas of the server sharing one
 * Postgres, over real sockets: background runs outlive their client, their
 * streams resume on either replica byte for byte, the latest run's state is
 * readable, cancels cross replicas, and frames expire.
 */
import request from 'supertest';
import { connect } from 'node:net';
import { Client } from 'pg';
import { ChatEnv, rawPost, startChatEnv } from './support/chat-env';
import { expectDualError } from './support/expect-error';
import type { ChatRequestBody, FakeReply } from './support/fake-openai';
import { API_KEY, AUTH, startTestServer, TestServer } from './support/server';
import { lastId, sseFrames, sseRequest, withoutIds, withoutPings } from './support/sse-client';

const CHAT = '/api/v2/chat/completions';
const PLAN = JSON.stringify([
  { serial_number: 1, agent: 'AI Assistant', content: 'Collect the facts about AWEL', rely: '' },
  { serial_number: 2, agent: 'Summarizer', content: 'Summarize the facts', rely: '1' },
]);

const text = (m: { content: unknown }) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content));
const isPlanner = (body: ChatRequestBody) => (body.messages ?? []).some((m) => text(m).includes('serial_number'));

/** The same answers for every run: a plan, then two slow-ish answers of many tokens. */
function scripted(body: ChatRequestBody): FakeReply {
  if (isPlanner(body)) return { text: PLAN };
  const tokens = Array.from({ length: 30 }, (_, i) => `tok${i} «ü» "q" `);
  return { tokens, tokenDelayMs: 15 };
}

/** Two runs of the same script differ only in their chunk id (the conv_uid for chat_app) and `created`. */
const normalize = (body: string, convUid: string) =>
  body.replaceAll(JSON.stringify(convUid), '"CONV"').replace(/"created":\d+/g, '"created":0');

async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('durable runs (two replicas, one Postgres)', () => {
  let env: ChatEnv;
  let a: TestServer;
  let b: TestServer;
  let appCode: string;
  let userKey: string;

  const body = (convUid: string, extra: Record<string, unknown> = {}) => ({
    model: 'fake-gpt',
    messages: 'Tell me about AWEL',
    chat_mode: 'chat_app',
    chat_param: appCode,
    conv_uid: convUid,
    stream: true,
    background: true,
    ...extra,
  });
  const post = (server: TestServer, b: Record<string, unknown>, headers = AUTH) =>
    sseRequest(server.origin, 'POST', CHAT, b, headers);
  const resume = (server: TestServer, convUid: string, after?: number, headers: Record<string, string> = AUTH) =>
    sseRequest(server.origin, 'GET', `${CHAT}/${convUid}/stream`, undefined, {
      ...headers,
      ...(after !== undefined ? { 'Last-Event-ID': String(after) } : {}),
    });
  const status = async (server: TestServer, convUid: string) =>
    (await request(server.origin).get(`${CHAT}/${convUid}`).set(AUTH)).body.data as Record<string, unknown>;
  const ended = (server: TestServer, convUid: string) =>
    waitFor(async () => {
      const s = await status(server, convUid);
      // null: not recorded yet (404)
      return s && s.state !== 'running' ? s : undefined;
    });
  async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: a.db.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    env = await startChatEnv({ SSE_PING_INTERVAL_MS: '100', RUN_SWEEP_INTERVAL_MS: '200' });
    a = env.server;
    b = await startTestServer(env.env, { db: a.db });
    const created = await request(a.origin)
      .post('/api/v2/serve/apps')
      .set(AUTH)
      .send({
        app_name: 'durable',
        team_mode: 'auto_plan',
        details: [{ agent_name: 'AI Assistant' }, { agent_name: 'Summarizer' }],
      });
    expect(created.status).toBe(201);
    appCode = created.body.data.app_code;
    const key = await request(a.origin)
      .post('/api/v2/serve/keys')
      .set(AUTH)
      .send({ name: 'user', scopes: ['chat'] });
    expect(key.status).toBe(201);
    userKey = key.body.data.key;
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await env?.close();
  });
  beforeEach(() => {
    env.fake.reset();
    env.fake.setHandler(scripted);
  });

  /** A whole background stream of the script, uninterrupted, on replica A. */
  async function reference(convUid: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = post(a, body(convUid, extra));
    const got = withoutPings(await res.done);
    expect(res.status()).toBe(200);
    return got;
  }

  /** Starts on A, drops after a few frames, resumes on B by Last-Event-ID, drops again, resumes on A by ?after. */
  async function interrupted(convUid: string, extra: Record<string, unknown> = {}): Promise<string> {
    const first = post(a, body(convUid, extra));
    await first.until((s) => lastId(s) >= 3);
    first.hangUp();
    const got1 = withoutPings(await first.done);
    const id1 = lastId(got1);
    expect(id1).toBeGreaterThanOrEqual(3);
    // Nobody is reading: the run goes on.
    const second = resume(b, convUid, id1);
    await second.until((s) => lastId(s) >= id1 + 5);
    expect(second.status()).toBe(200);
    second.hangUp();
    const got2 = withoutPings(await second.done);
    const id2 = lastId(got2);
    expect((await status(a, convUid)).state).toBe('running');
    const third = sseRequest(a.origin, 'GET', `${CHAT}/${convUid}/stream?after=${id2}`);
    const got3 = withoutPings(await third.done);
    expect(third.status()).toBe(200);
    return got1 + got2 + got3;
  }

  it('a background auto_plan stream dropped and resumed on either replica equals the uninterrupted one, byte for byte', async () => {
    const whole = await reference('dur-ref');
    const joined = await interrupted('dur-cut');
    const frames = sseFrames(joined);
    // Frames numbered from 1 without a gap or a repeat, [DONE] numbered too.
    expect(frames.map((f) => Number(/^id: (\d+)\n/.exec(f)?.[1]))).toEqual(frames.map((_, i) => i + 1));
    expect(frames[frames.length - 1]).toBe(`id: ${frames.length}\ndata: [DONE]\n\n`);
    expect(normalize(joined, 'dur-cut')).toBe(normalize(whole, 'dur-ref'));
    expect(frames.length).toBeGreaterThan(20);
  }, 60_000);

  it('a client that leaves as soon as the headers came resumes on the other replica at once (the stream is stored first)', async () => {
    env.fake.setHandler((b) => ({ ...scripted(b), firstTokenDelayMs: 300 }));
    const first = post(a, body('dur-early'));
    await waitFor(async () => (first.status() ? true : undefined));
    first.hangUp();
    await first.done;
    const resumed = resume(b, 'dur-early');
    const got = withoutPings(await resumed.done);
    expect(resumed.status()).toBe(200);
    expect(got.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(sseFrames(got)[0]).toMatch(/^id: 1\n/);
  }, 30_000);

  it('does the same for incremental: false (every chunk the whole vis view)', async () => {
    const whole = await reference('dur-ref-views', { incremental: false });
    const joined = await interrupted('dur-cut-views', { incremental: false });
    expect(normalize(joined, 'dur-cut-views')).toBe(normalize(whole, 'dur-ref-views'));
  }, 60_000);

  it('without its id: lines a background stream is the foreground stream; the foreground one has no id: lines', async () => {
    const background = await reference('dur-bg');
    const res = await rawPost(a.origin, CHAT, { ...body('dur-fg'), background: undefined });
    expect(res.status).toBe(200);
    const foreground = withoutPings(res.body);
    expect(foreground).not.toMatch(/^id:/m);
    expect(normalize(withoutIds(background), 'dur-bg')).toBe(normalize(foreground, 'dur-fg'));
  }, 30_000);

  it('the status shows the run while it runs and after, a finished run replays (from any point) and ends', async () => {
    const streaming = post(a, body('dur-status'));
    await streaming.until((s) => lastId(s) >= 2);
    const running = await status(b, 'dur-status');
    expect(running).toMatchObject({
      conv_uid: 'dur-status',
      turn: 1,
      state: 'running',
      background: true,
      ended_at: null,
      content: null,
    });
    expect(Date.parse(running.started_at as string)).not.toBeNaN();
    const whole = withoutPings(await streaming.done);
    const done = await status(b, 'dur-status');
    expect(done).toMatchObject({ state: 'complete', background: true, error: null });
    expect(done.content).toEqual(expect.stringContaining('tok29'));
    expect(done.last_event_id).toBe(lastId(whole));
    expect(Date.parse(done.ended_at as string)).toBeGreaterThanOrEqual(Date.parse(done.started_at as string));
    expect((done.usage as { total_tokens: number }).total_tokens).toBeGreaterThan(0);
    // Replays: whole, and from the middle, on the other replica.
    expect(withoutPings(await resume(b, 'dur-status').done)).toBe(whole);
    const middle = Math.floor(lastId(whole) / 2);
    const rest = withoutPings(await resume(b, 'dur-status', middle).done);
    expect(sseFrames(whole).slice(middle).join('')).toBe(rest);
    // A client that had everything but [DONE] gets [DONE].
    expect(await resume(a, 'dur-status', lastId(whole) - 1).done).toBe(`id: ${lastId(whole)}\ndata: [DONE]\n\n`);
  }, 30_000);

  it('a client leaving does not cancel a background run: it completes with nobody reading', async () => {
    const streaming = post(a, body('dur-leave'));
    await streaming.until((s) => lastId(s) >= 1);
    streaming.hangUp();
    await streaming.done;
    expect(await ended(b, 'dur-leave')).toMatchObject({ state: 'complete' });
    for (const r of env.fake.chatRequests) expect(await r.outcome).toBe('completed');
  }, 30_000);

  it('a follower that stops reading does not hold the run back: it completes while the socket is full', async () => {
    // About 2 MB of frames: far more than the socket buffers hold.
    env.fake.setHandler(() => ({ tokens: Array.from({ length: 4000 }, (_, i) => `${'z'.repeat(300)}${i} `) }));
    const socket = connect(Number(new URL(a.origin).port), '127.0.0.1');
    const body = JSON.stringify({
      model: 'fake-gpt',
      messages: 'big',
      conv_uid: 'dur-slow',
      stream: true,
      background: true,
    });
    socket.write(
      `POST ${CHAT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    socket.pause();
    try {
      expect(await ended(b, 'dur-slow')).toMatchObject({ state: 'complete' });
      // The whole stream is stored and replays elsewhere.
      const replay = await resume(b, 'dur-slow').done;
      expect(replay.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(replay.length).toBeGreaterThan(1_000_000);
    } finally {
      socket.destroy();
    }
  }, 60_000);

  it('non-stream background: 202 at once with the run state, then the status shows the final content', async () => {
    env.fake.setHandler(() => ({ text: 'the final answer of a background run', tokenDelayMs: 30 }));
    const res = await rawPost(a.origin, CHAT, {
      model: 'fake-gpt',
      messages: 'hi',
      conv_uid: 'dur-202',
      background: true,
      stream: false,
    });
    expect(res.status).toBe(202);
    expect(JSON.parse(res.body)).toEqual({
      success: true,
      err_code: null,
      err_msg: null,
      data: { conv_uid: 'dur-202', status: 'running' },
    });
    expect(res.headers['x-conv-uid']).toBe('dur-202');
    const done = await ended(b, 'dur-202');
    expect(done).toMatchObject({ state: 'complete', content: 'the final answer of a background run' });
    // Its stream is kept too: plain chat chunks, numbered.
    const replay = await resume(b, 'dur-202').done;
    expect(replay).toMatch(/^id: 1\ndata: \{"id":"chatcmpl-/);
    expect(replay.endsWith(`data: [DONE]\n\n`)).toBe(true);
  }, 30_000);

  it('a cancel sent to replica B stops a background run on A; its followers get the failure frame and [DONE]', async () => {
    env.fake.setHandler(() => ({ tokens: Array.from({ length: 200 }, (_, i) => `t${i} `), tokenDelayMs: 30 }));
    const res = await rawPost(a.origin, CHAT, {
      model: 'fake-gpt',
      messages: 'long',
      conv_uid: 'dur-cancel',
      background: true,
      stream: false,
    });
    expect(res.status).toBe(202);
    const follower = resume(b, 'dur-cancel');
    await follower.until((s) => s.includes('"content":"t2 "'));
    const cancel = await request(b.origin).post(`${CHAT}/dur-cancel/cancel`).set(AUTH);
    expect(cancel.body.data).toEqual({ conv_uid: 'dur-cancel', cancelled: true });
    const got = withoutPings(await follower.done);
    const frames = sseFrames(got);
    expect(frames[frames.length - 1]).toMatch(/^id: \d+\ndata: \[DONE\]\n\n$/);
    expect(JSON.parse(frames[frames.length - 2].split('data: ')[1]).error).toMatchObject({ type: 'server_error' });
    expect(await ended(a, 'dur-cancel')).toMatchObject({ state: 'cancelled' });
    expect(await env.fake.chatRequests[0].outcome).toBe('closed-early');
  }, 30_000);

  it('404 for an unknown conversation and for a run without a stream; a non-admin key sees only its own runs', async () => {
    const unknown = await request(b.origin).get(`${CHAT}/no-such-conv/stream`).set(AUTH);
    expectDualError(unknown, 404, 'conversation_not_found', 'conv_uid');
    expectDualError(
      await request(b.origin).get(`${CHAT}/no-such-conv`).set(AUTH),
      404,
      'conversation_not_found',
      'conv_uid',
    );
    // A foreground run has nothing to resume, but its status answers.
    await rawPost(a.origin, CHAT, { model: 'fake-gpt', messages: 'hi', conv_uid: 'dur-fg-only', stream: true });
    expectDualError(
      await request(b.origin).get(`${CHAT}/dur-fg-only/stream`).set(AUTH),
      404,
      'run_stream_not_found',
      'conv_uid',
    );
    expect(await status(b, 'dur-fg-only')).toMatchObject({ state: 'complete', background: false, last_event_id: null });
    // The admin's run, asked for with another key: not found; the key's own run: found.
    const user = { Authorization: `Bearer ${userKey}` };
    for (const path of [`${CHAT}/dur-status/stream`, `${CHAT}/dur-status`]) {
      expectDualError(await request(b.origin).get(path).set(user), 404, 'conversation_not_found', 'conv_uid');
    }
    const own = post(
      a,
      { model: 'fake-gpt', messages: 'mine', conv_uid: 'dur-user', stream: true, background: true },
      user,
    );
    await own.done;
    expect((await request(b.origin).get(`${CHAT}/dur-user`).set(user)).body.data).toMatchObject({ state: 'complete' });
    const replay = resume(b, 'dur-user', 0, user);
    expect(withoutPings(await replay.done)).toBe(withoutPings(own.received()));
    expect(API_KEY).not.toBe(userKey);
  }, 30_000);

  it('refuses a background that is not a boolean and a Last-Event-ID or after that is not a frame number', async () => {
    expectDualError(
      await rawPost(a.origin, CHAT, { model: 'fake-gpt', messages: 'hi', background: 'yes' }),
      400,
      'validation_error',
      'background',
    );
    expectDualError(
      await request(a.origin).get(`${CHAT}/dur-status/stream`).set(AUTH).set('Last-Event-ID', 'abc'),
      400,
      'validation_error',
      'Last-Event-ID',
    );
    expectDualError(
      await request(a.origin).get(`${CHAT}/dur-status/stream?after=-1`).set(AUTH),
      400,
      'validation_error',
      'after',
    );
  });

  it('removes the frames of runs that ended longer ago than RUN_RETENTION; their resume is 404, their status stays', async () => {
    const c = await startTestServer({ ...env.env, RUN_RETENTION: '1s', RUN_SWEEP_INTERVAL_MS: '100' }, { db: a.db });
    try {
      env.fake.setHandler(() => 'short lived');
      await rawPost(c.origin, CHAT, {
        model: 'fake-gpt',
        messages: 'hi',
        conv_uid: 'dur-expire',
        stream: true,
        background: true,
      });
      const [{ id }] = await sql<{ id: string }>(`SELECT id FROM conversation_runs WHERE conv_uid = 'dur-expire'`);
      expect((await sql(`SELECT 1 FROM run_frames WHERE run_id = $1`, [id])).length).toBeGreaterThan(0);
      await waitFor(async () =>
        (await sql(`SELECT 1 FROM run_streams WHERE run_id = $1`, [id])).length === 0 ? true : undefined,
      );
      expect(await sql(`SELECT 1 FROM run_frames WHERE run_id = $1`, [id])).toEqual([]);
      expectDualError(
        await request(b.origin).get(`${CHAT}/dur-expire/stream`).set(AUTH),
        404,
        'run_stream_not_found',
        'conv_uid',
      );
      expect(await status(b, 'dur-expire')).toMatchObject({ state: 'complete', content: 'short lived' });
    } finally {
      await c.close();
    }
  }, 30_000);
});
