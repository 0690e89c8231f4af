import { DONE_FRAME } from '../chat/chunks';

/** Stored frames of a live run kept in memory for followers on its own replica, at most about this many characters. */
const MEMORY_CHARS = 256 * 1024;

/** The frames of a concatenation of SSE frames (`data: …\n\n` each; a JSON payload never holds a raw newline). */
export function splitFrames(text: string): string[] {
  // The common case: one frame.
  if (text.indexOf('\n\n') === text.length - 2) return [text];
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n\n', start);
    if (end < 0) break;
    out.push(text.slice(start, end + 2));
    start = end + 2;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** A frame as a resumable stream sends it: `id: <n>` before its `data:` line. */
export const numbered = (seq: number, frame: string): string => `id: ${seq}\n${frame}`;

export const isDone = (frame: string): boolean => frame.endsWith(DONE_FRAME);

/**
 * The part of a stored batch of frames (`first..`, `id:` lines included)
 * after frame `after`: the whole batch when it starts later, else from the
 * frame numbered `after + 1` (empty when there is none).
 */
export function framesAfter(batch: string, first: number, after: number): string {
  if (first > after) return batch;
  const marker = `id: ${after + 1}\n`;
  if (batch.startsWith(marker)) return batch;
  const at = batch.indexOf(`\n\n${marker}`);
  return at < 0 ? '' : batch.slice(at + 2);
}

/**
 * A background run being written by this replica: its frames are numbered
 * here, and the batches already stored are kept in memory (the latest
 * `MEMORY_CHARS` of them, as the text that was stored) so followers on
 * this replica read them without a query. A follower behind what memory
 * holds reads the store.
 */
export class LocalStream {
  /** Frames numbered so far. */
  seq = 0;
  /** The last frame stored. */
  committed = 0;
  /** `[DONE]` is stored. */
  ended = false;
  /** No more frames are stored (ended, or the store was lost). */
  closed = false;
  /** Resolves with whether the stream's row was stored (the first write waits for it). */
  opened: Promise<boolean> = Promise.resolve(true);
  private readonly memory: { first: number; text: string }[] = [];
  private memoryChars = 0;

  constructor(readonly runId: string) {}

  /** Frames `committed + 1 …` (`count` of them, as `text`) have been stored. */
  commit(text: string, count: number, done: boolean): void {
    this.memory.push({ first: this.committed + 1, text });
    this.memoryChars += text.length;
    this.committed += count;
    this.ended = done;
    while (this.memoryChars > MEMORY_CHARS && this.memory.length > 1)
      this.memoryChars -= this.memory.shift()!.text.length;
  }

  /** Stored frames after `after` from memory ('' when none yet); undefined when memory no longer holds frame `after + 1`. */
  after(after: number): string | undefined {
    if (after >= this.committed) return '';
    if (!this.memory.length || after + 1 < this.memory[0].first) return undefined;
    let i = this.memory.length - 1;
    while (this.memory[i].first > after + 1) i--;
    let text = framesAfter(this.memory[i].text, this.memory[i].first, after);
    for (i++; i < this.memory.length; i++) text += this.memory[i].text;
    return text;
  }
}
