import type { Response } from 'express';
import { Observable } from 'rxjs';
import { PING_FRAME } from './chunks';
import type { FlowGate } from './flow-gate';

export interface SseOptions {
  /** Send the headers at once (team runs) or with the first frame (plain chat, so early errors keep their status). */
  eagerHeaders: boolean;
  /** `: ping` after this long without a frame. */
  pingIntervalMs: number;
  /** Closed while the socket is not draining, open again on `drain`: the run's LLM reads wait on it. */
  gate?: FlowGate;
  /** How long the client may take no bytes before `onStall` is called and the connection closed. */
  stallTimeoutMs?: number;
  /** Called once when the client stalled for `stallTimeoutMs` (before the connection is destroyed). */
  onStall?: () => void;
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

/** Whether bytes written to `res` still wait in memory (the socket has not handed them all to the system). */
export const bytesWait = (res: Response): boolean => res.writableNeedDrain || res.writableLength > 0;

/**
 * Writes an Observable of ready SSE frames to the response, byte for byte:
 * no `event:` or `id:` lines, keep-alive as `: ping` comments during silent
 * stretches. An error before anything was sent rejects, so the caller (the
 * global exception filter) answers it with its real HTTP status and the dual
 * error body; the frames themselves carry errors that happen later.
 * Resolves when the stream ended or the client left.
 *
 * Frames produced in the same tick (a burst of tokens from one upstream
 * read) are written together, once the tick's microtasks have run: the same
 * bytes in order, in one socket write instead of one write (and one wake-up
 * of the client) per frame. A frame never waits for a later event.
 *
 * Back-pressure: when `res.write()` says the socket's buffer is full, the
 * gate closes (the run stops reading its upstream) until `drain`; a client
 * that takes nothing for `stallTimeoutMs` is given up on (`onStall`, then
 * the connection is destroyed). Pings are not queued while it is full. The
 * promise resolves once the last bytes left for the client (or the
 * connection closed), so the run's slot is held until then.
 */
export function writeSse(res: Response, frames$: Observable<string>, options: SseOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    let started = false;
    let ping: NodeJS.Timeout | undefined;
    let stall: NodeJS.Timeout | undefined;
    let pending = '';
    let ending = false;
    const drained = () => {
      if (stall) clearTimeout(stall);
      stall = undefined;
      options.gate?.open();
      // Once ended, what still waits must leave: the stall clock starts again from this read.
      if (ending && bytesWait(res)) stalled();
    };
    const stalled = () => {
      if (stall) return;
      options.gate?.close();
      stall = setTimeout(() => {
        stall = undefined;
        options.onStall?.();
        res.destroy();
      }, options.stallTimeoutMs ?? 60_000);
      res.once('drain', drained);
    };
    const flush = () => {
      if (pending && res.writable && !res.write(pending)) stalled();
      pending = '';
      armPing();
    };
    const send = (frame: string) => {
      if (!pending) process.nextTick(flush);
      pending += frame;
    };
    const start = () => {
      if (started) return;
      started = true;
      res.status(200);
      for (const [k, v] of Object.entries(SSE_HEADERS)) res.setHeader(k, v);
      res.socket?.setNoDelay(true);
      // Eager: the headers go now. Otherwise they leave with the first frame's write.
      if (options.eagerHeaders) res.flushHeaders();
    };
    let finished = false;
    // Restarted after each write: pings fill silences only, and only while the client takes bytes.
    const armPing = () => {
      if (finished) return;
      if (ping) ping.refresh();
      else ping = setInterval(() => stall === undefined && send(PING_FRAME), options.pingIntervalMs);
    };
    const stopPing = () => {
      finished = true;
      if (ping) clearInterval(ping);
    };
    // Settles once the response's bytes all left (or the connection closed), however long a slow client takes.
    const finish = () => {
      stopPing();
      if (res.writableFinished || res.destroyed) return done();
      ending = true;
      res.once('finish', done);
      res.once('close', done);
      // Bytes the socket could not take wait in memory: the client has SSE_STALL_TIMEOUT_MS to take them.
      if (bytesWait(res)) stalled();
    };
    const done = () => {
      res.off('finish', done);
      res.off('close', done);
      res.off('drain', drained);
      if (stall) clearTimeout(stall);
      resolve();
    };
    if (options.eagerHeaders) {
      start();
      armPing();
    }
    frames$.subscribe({
      next: (frame) => {
        start();
        send(frame);
      },
      error: (e: unknown) => {
        // Only reached before the first frame (later errors are frames).
        stopPing();
        if (!started && !res.headersSent) return reject(e instanceof Error ? e : new Error(String(e)));
        if (!res.writableEnded) {
          flush();
          res.end();
        }
        finish();
      },
      complete: () => {
        start();
        // The last frames ([DONE]) and the end of the body in one write.
        const last = pending;
        pending = '';
        if (!res.writableEnded) res.end(last);
        finish();
      },
    });
  });
}
