import type { Request, Response } from 'express';
import type { AppConfig } from '../config/config';
import { ok } from '../common/result';
import type { ChatRun } from './chat-run';
import { bytesWait, writeSse } from './sse';

/**
 * Answers a started chat run on its response: SSE, one JSON answer, or the
 * 202 of a background run. The client leaving before the answer is over,
 * or taking no bytes for SSE_STALL_TIMEOUT_MS, aborts the run. Resolves
 * (or rejects with an error that still has an HTTP status to get) once the
 * answer is over, after `run.end()`: the run's slot is held until then.
 */
export async function sendChatRun(
  req: Request,
  res: Response,
  run: ChatRun,
  config: Pick<AppConfig, 'ssePingIntervalMs' | 'sseStallTimeoutMs'>,
): Promise<void> {
  const onClose = () => {
    if (!res.writableFinished) run.abort('The client closed the connection before the run ended.');
  };
  const stallMs = config.sseStallTimeoutMs;
  const onStall = () =>
    run.abort(
      `The client took no bytes of the stream for ${stallMs} ms (SSE_STALL_TIMEOUT_MS); the run was cancelled.`,
    );
  try {
    res.on('close', onClose);
    // A client that left while the run's rows were written: the run ends before its first LLM request.
    if (req.socket.destroyed) onClose();
    const { answer } = run;
    if (answer.type === 'stream') {
      await writeSse(res, answer.frames, {
        eagerHeaders: answer.eagerHeaders,
        pingIntervalMs: config.ssePingIntervalMs,
        gate: answer.gate,
        stallTimeoutMs: stallMs,
        onStall,
      });
    } else if (answer.type === 'completion') {
      const completion = await answer.completion();
      // The run has ended: a client leaving now has nothing left to cancel.
      res.off('close', onClose);
      res.status(200).json(completion);
      await delivered(res, stallMs);
    } else {
      res.status(202).json(ok(answer.state));
    }
  } finally {
    res.off('close', onClose);
    await run.end();
  }
}

/**
 * Settles once the response's last bytes left for the client (`finish`) or
 * its connection closed. What the socket's buffers cannot take waits in
 * memory: as at the end of a stream, the client has `stallTimeoutMs` to
 * take it, after which the connection is destroyed (the run has ended
 * already: it stays as it was stored).
 */
function delivered(res: Response, stallTimeoutMs: number): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const stall = bytesWait(res) ? setTimeout(() => res.destroy(), stallTimeoutMs) : undefined;
    const done = () => {
      clearTimeout(stall);
      res.off('finish', done);
      res.off('close', done);
      resolve();
    };
    res.once('finish', done);
    res.once('close', done);
  });
}
