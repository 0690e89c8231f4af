import express from 'express';
import type { Server } from 'node:http';
import { AddressInfo, connect } from 'node:net';
import { Observable, of, Subject, throwError } from 'rxjs';
import { ApiError } from '../common/api-error';
import { sendChatRun } from './chat-response';
import { ChatAnswer, ChatCompletion, ChatRun, once } from './chat-run';
import { DONE_FRAME } from './chunks';
import { FlowGate } from './flow-gate';

const CONFIG = { ssePingIntervalMs: 60_000, sseStallTimeoutMs: 300 };

interface Calls {
  /** Calls of `end`, and how many of them did the work. */
  ends: number;
  ended: number;
  aborts: string[];
}

/** A run answering with `answer` that records its `end` and `abort` calls; `onAbort` plays the run stopping. */
function fakeRun(answer: ChatAnswer, onAbort: () => void = () => undefined): { run: ChatRun; calls: Calls } {
  const calls: Calls = { ends: 0, ended: 0, aborts: [] };
  const end = once(async () => {
    calls.ended++;
    await Promise.resolve();
  });
  const run: ChatRun = {
    convUid: 'conv-1',
    answer,
    abort: (reason) => {
      calls.aborts.push(reason);
      onAbort();
    },
    end: () => {
      calls.ends++;
      return end();
    },
  };
  return { run, calls };
}

const stream = (frames: Observable<string>): ChatAnswer => ({
  type: 'stream',
  frames,
  eagerHeaders: false,
  gate: new FlowGate(),
});

const completion = (content: string): ChatCompletion => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

describe('sendChatRun', () => {
  let server: Server;
  let port: number;
  let current: { run: ChatRun; calls: Calls };
  /** How the answer of the request under test ended, with `ended` as it was at that moment. */
  let settled: Promise<{ error?: unknown; ended: number }>;
  let arrived: () => void;

  const post = (init: RequestInit = {}) => {
    const seen = new Promise<void>((r) => (arrived = r));
    const res = fetch(`http://127.0.0.1:${port}/chat`, { method: 'POST', ...init });
    return { res, seen };
  };

  /** A request over a raw socket whose client reads nothing until `readAll`, once the server has it. */
  const postNotReading = async () => {
    const seen = new Promise<void>((r) => (arrived = r));
    const socket = connect(port, '127.0.0.1', () => socket.write('POST /chat HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.pause();
    socket.on('error', () => undefined);
    const closed = new Promise((r) => socket.once('close', r));
    await seen;
    return {
      /** Reads what the server left, until it closes the connection. */
      readAll: () => {
        socket.resume();
        return closed;
      },
    };
  };

  beforeAll(async () => {
    const app = express();
    app.post('/chat', (req, res) => {
      const { run, calls } = current;
      settled = sendChatRun(req, res, run, CONFIG).then(
        () => ({ ended: calls.ended }),
        (error: unknown) => {
          const ended = calls.ended;
          if (!res.headersSent) res.status(503).json({ error: String(error) });
          return { error, ended };
        },
      );
      arrived();
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('writes the frames as SSE and ends the run once, after the last byte', async () => {
    current = fakeRun(stream(of('data: {"a":1}\n\n', DONE_FRAME)));
    const res = await post().res;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe(`data: {"a":1}\n\n${DONE_FRAME}`);
    expect(await settled).toEqual({ ended: 1 });
    expect(current.calls).toEqual({ ends: 1, ended: 1, aborts: [] });
  });

  it('an error before the first frame: the run has ended when the error goes back for its status', async () => {
    const error = new ApiError(429, 'upstream_rate_limited', 'slow down');
    current = fakeRun(stream(throwError(() => error)));
    const res = await post().res;
    expect(res.status).toBe(503);
    expect(await settled).toEqual({ error, ended: 1 });
    expect(current.calls.ends).toBe(1);
  });

  it('a client that leaves mid-stream aborts the run, which ends once', async () => {
    const frames = new Subject<string>();
    current = fakeRun(stream(frames), () => frames.complete());
    const controller = new AbortController();
    const { res, seen } = post({ signal: controller.signal });
    await seen;
    frames.next('data: {"a":1}\n\n');
    await (await res).body!.getReader().read();
    controller.abort();
    expect(await settled).toEqual({ ended: 1 });
    expect(current.calls).toEqual({
      ends: 1,
      ended: 1,
      aborts: ['The client closed the connection before the run ended.'],
    });
  });

  it('a non-stream answer: JSON, and the run ends once it was delivered', async () => {
    current = fakeRun({ type: 'completion', completion: () => Promise.resolve(completion('hi')) });
    const res = await post().res;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual(completion('hi'));
    expect(await settled).toEqual({ ended: 1 });
    expect(current.calls).toEqual({ ends: 1, ended: 1, aborts: [] });
  });

  it('a non-stream answer the client does not read holds the run until the stall timeout closes it', async () => {
    // Far more than the socket buffers take for a client that reads nothing.
    current = fakeRun({ type: 'completion', completion: () => Promise.resolve(completion('x'.repeat(16 << 20))) });
    const client = await postNotReading();
    const started = Date.now();
    let done = false;
    void settled.then(() => (done = true));
    await new Promise((r) => setTimeout(r, CONFIG.sseStallTimeoutMs / 2));
    expect(done).toBe(false);
    expect(await settled).toEqual({ ended: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(CONFIG.sseStallTimeoutMs - 10);
    // The answer was produced: nothing is aborted, the run just ends.
    expect(current.calls).toEqual({ ends: 1, ended: 1, aborts: [] });
    await client.readAll();
  });

  it('a stream whose last bytes the client does not take holds the run until the stall timeout closes it', async () => {
    // The stream's frames are all produced; far more than the socket buffers take waits for a client that reads nothing.
    current = fakeRun(stream(of(`data: ${'x'.repeat(16 << 20)}\n\n`, DONE_FRAME)));
    const client = await postNotReading();
    const started = Date.now();
    expect(await settled).toEqual({ ended: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(CONFIG.sseStallTimeoutMs - 10);
    expect(current.calls.ended).toBe(1);
    await client.readAll();
  });

  it('a background run without a stream: 202 with its state', async () => {
    current = fakeRun({ type: 'accepted', state: { conv_uid: 'conv-1', status: 'running' } });
    const res = await post().res;
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ success: true, data: { conv_uid: 'conv-1', status: 'running' } });
    expect(await settled).toEqual({ ended: 1 });
  });
});
