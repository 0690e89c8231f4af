import type { Response } from 'express';
import { Observable } from 'rxjs';
import { PING_FRAME } from './chunks';

export interface SseOptions {
  /** Send the headers at once (team runs) or with the first frame (plain chat, so early errors keep their status). */
  eagerHeaders: boolean;
  /** `: ping` after this long without a frame. */
  pingIntervalMs: number;
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

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
 */
export function writeSse(res: Response, frames$: Observable<string>, options: SseOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    let started = false;
    let ping: NodeJS.Timeout | undefined;
    let pending = '';
    const flush = () => {
      if (pending && res.writable) res.write(pending);
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
    // Restarted after each write: pings fill silences only.
    const armPing = () => {
      if (finished) return;
      if (ping) ping.refresh();
      else ping = setInterval(() => send(PING_FRAME), options.pingIntervalMs);
    };
    const stopPing = () => {
      finished = true;
      if (ping) clearInterval(ping);
    };
    const finish = () => {
      stopPing();
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
