/**
 * MAX_CONCURRENT_RUNS_PER_KEY over HTTP: a key with its runs in flight gets
 * 429 `too_many_runs`; the slot comes back when a run ends, fails or loses
 * its client, and each key has its own slots.
 */
import { expectDualError } from './support/expect-error';
import { ChatEnv, contents, rawPost, startChatEnv, streamPost } from './support/chat-env';
import { API_KEY } from './support/server';

const CHAT = '/api/v2/chat/completions';
const OTHER_KEY = 'runs-other-key-0123456789';
const OTHER_AUTH = { Authorization: `Bearer ${OTHER_KEY}` };

describe('concurrent runs per API key (MAX_CONCURRENT_RUNS_PER_KEY=1)', () => {
  let env: ChatEnv;
  const slow = () => ({ tokens: Array.from({ length: 200 }, (_, i) => `t${i} `), tokenDelayMs: 50 });
  const ask = (headers?: Record<string, string>) =>
    rawPost(env.server.origin, CHAT, { model: 'fake-gpt', messages: 'quick', stream: true }, headers);
  /**
   * Retries until the key is admitted again, at most 10 s: the slot is given
   * back as the request ends, which may be just after the client read the end.
   */
  const expectAdmitted = async () => {
    env.fake.setHandler(() => 'admitted');
    const until = Date.now() + 10_000;
    for (;;) {
      const res = await ask();
      if (res.status !== 429) {
        expect(res.status).toBe(200);
        expect(contents(res.body).join('')).toBe('admitted');
        return;
      }
      if (Date.now() > until) throw new Error('the slot was not given back within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  beforeAll(async () => {
    env = await startChatEnv({ MAX_CONCURRENT_RUNS_PER_KEY: '1', API_KEYS: `${API_KEY},${OTHER_KEY}` });
  });
  afterAll(() => env?.close());
  beforeEach(() => env.fake.reset());

  it('refuses a second run of the same key with 429 too_many_runs; another key runs; the slot is back after the end', async () => {
    env.fake.setHandler(() => ({ tokens: Array.from({ length: 20 }, (_, i) => `t${i} `), tokenDelayMs: 50 }));
    const first = streamPost(env.server.origin, CHAT, { model: 'fake-gpt', messages: 'long', stream: true });
    await first.firstContent;
    const refused = await ask();
    expectDualError(refused, 429, 'too_many_runs', null);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body).err_msg).toContain('MAX_CONCURRENT_RUNS_PER_KEY');
    // Refused before any upstream call.
    expect(env.fake.chatRequests).toHaveLength(1);

    env.fake.setHandler(() => 'other key');
    const other = await ask(OTHER_AUTH);
    expect(other.status).toBe(200);
    expect(contents(other.body).join('')).toBe('other key');

    const done = await first.done;
    expect(contents(done.body).join('')).toBe(Array.from({ length: 20 }, (_, i) => `t${i} `).join(''));
    await expectAdmitted();
  });

  it('gives the slot back after a run that failed', async () => {
    env.fake.setHandler(() => ({ status: 500 }));
    expectDualError(await ask(), 503, 'upstream_error', null);
    await expectAdmitted();
    env.fake.setHandler(() => ({ tokens: ['a ', 'b ', 'c '], cutAfterTokens: 2 }));
    const cut = await ask();
    expect(cut.status).toBe(200);
    expect(cut.body).toContain('"upstream_error"');
    await expectAdmitted();
  });

  it('gives the slot back after the client hung up', async () => {
    env.fake.setHandler(slow);
    const first = streamPost(env.server.origin, CHAT, { model: 'fake-gpt', messages: 'long', stream: true });
    await first.firstContent;
    expectDualError(await ask(), 429, 'too_many_runs', null);
    first.hangUp();
    await first.done;
    expect(await env.fake.chatRequests[0].outcome).toBe('closed-early');
    await expectAdmitted();
  });
});
