import type { FramesBatch } from './run-frames.repository';

/** Statements of appends in flight at once; the batches that come meanwhile go out together in the next. */
const MAX_IN_FLIGHT = 4;
/** Most runs' batches in one statement. */
const MAX_BATCHES = 200;

interface Queued {
  batch: FramesBatch;
  resolve: (stored: boolean) => void;
  reject: (e: unknown) => void;
}

/**
 * Merges the frame appends of many background runs into few statements:
 * while `MAX_IN_FLIGHT` are in flight, the batches queued meanwhile wait
 * and then go out as one (one round trip and one commit for all of them).
 * A run has at most one batch in flight, so its batches stay in order.
 */
export class FramesWriter {
  private readonly queue: Queued[] = [];
  private inFlight = 0;

  constructor(private readonly send: (batches: readonly FramesBatch[]) => Promise<Set<string>>) {}

  /** Resolves with whether the run's stream took the batch (false: another replica ended it). */
  write(batch: FramesBatch): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length) {
      const items = this.queue.splice(0, MAX_BATCHES);
      this.inFlight++;
      this.send(items.map((i) => i.batch))
        .then(
          (stored) => {
            for (const i of items) i.resolve(stored.has(i.batch.runId));
          },
          (e: unknown) => {
            for (const i of items) i.reject(e);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
