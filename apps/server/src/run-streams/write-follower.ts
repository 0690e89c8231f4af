import type { Response } from 'express';
import type { Observable } from 'rxjs';
import type { AppConfig } from '../config/config';
import { FlowGate } from '../chat/flow-gate';
import { writeSse } from '../chat/sse';

/**
 * Sends a follower of a background run to the response as SSE: the reads
 * wait at the response's flow gate, and the follower stops when the client
 * leaves (the run goes on). An error before the stream (404) keeps its
 * HTTP status.
 */
export async function writeFollower(
  res: Response,
  config: Pick<AppConfig, 'ssePingIntervalMs' | 'sseStallTimeoutMs'>,
  follow: (signal: AbortSignal, gate: FlowGate) => Observable<string> | Promise<Observable<string>>,
  /** Send the headers before the first frame (as a team run's stream does); else with it. */
  eagerHeaders = true,
): Promise<void> {
  const controller = new AbortController();
  const onClose = () => controller.abort('The client left.');
  res.on('close', onClose);
  try {
    const gate = new FlowGate();
    const frames$ = await follow(controller.signal, gate);
    await writeSse(res, frames$, {
      eagerHeaders,
      pingIntervalMs: config.ssePingIntervalMs,
      gate,
      stallTimeoutMs: config.sseStallTimeoutMs,
    });
  } finally {
    res.off('close', onClose);
    controller.abort('The stream ended.');
  }
}
