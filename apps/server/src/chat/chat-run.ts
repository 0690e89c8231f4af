import type { Observable } from 'rxjs';
import type { Viewer } from '../conversations/conversations.service';
import type { LimitSubject } from '../limits';
import type { ChunkFrames } from './chunks';
import { FlowGate } from './flow-gate';

/** What a chat run needs to know of its caller: whose conversations it sees, and whose limits it counts against. */
export interface ChatCaller {
  viewer: Viewer;
  limits: LimitSubject;
}

/** The non-stream answer: one `chat.completion`. */
export type ChatCompletion = ReturnType<ChunkFrames['completion']>;

/** What the answer to a started run carries. */
export type ChatAnswer =
  /**
   * Ready SSE frames, in order, `[DONE]` included. An error before the first
   * frame keeps its HTTP status; later ones are frames. `eagerHeaders`: the
   * headers go out before the first frame (team runs) rather than with it.
   * `gate` is closed while the client takes no bytes (the run then stops
   * reading its upstream) and opened again when it does.
   */
  | { type: 'stream'; frames: Observable<string>; eagerHeaders: boolean; gate: FlowGate }
  /** One answer once the run ended and its rows are stored; the run starts when it is called. */
  | { type: 'completion'; completion: () => Promise<ChatCompletion> }
  /** A background run answered at once with its state (it goes on by itself). */
  | { type: 'accepted'; state: { conv_uid: string; status: 'running' } };

/**
 * A validated, recorded run holding its slot, as `ChatService.start` hands
 * it over. Whoever answers with it calls `end()` once the answer is over
 * (sent, failed, or the client gone), whatever happened.
 */
export interface ChatRun {
  convUid: string;
  answer: ChatAnswer;
  /**
   * Stops the run, `reason` stored with it (a client that left or stopped
   * reading). For a background run, only this request's following of it stops.
   */
  abort(reason: string): void;
  /**
   * Ends the run: a run still going is cancelled, its rows flushed, its slot
   * and registration freed, then it is counted and logged. Only the first
   * call does it; every call resolves when it is done.
   */
  end(): Promise<void>;
}

/** `fn` run on the first call only; every call returns the first call's promise. */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/**
 * A handle that follows a background run's stream (`follow` gets the
 * signal that stops the following and the gate of the client's pace): its
 * `abort` and `end` stop only the following, the run goes on. `onEnd` runs
 * once when it ends. A `follow` that fails (a 404 before the stream) rejects
 * with its error.
 */
export async function followingRun(
  convUid: string,
  follow: (signal: AbortSignal, gate: FlowGate) => Observable<string> | Promise<Observable<string>>,
  /** Send the headers before the first frame (as a team run's stream does); else with it. */
  eagerHeaders: boolean,
  onEnd: () => void = () => undefined,
): Promise<ChatRun> {
  const following = new AbortController();
  const gate = new FlowGate();
  const end = once(async () => {
    following.abort('The stream ended.');
    onEnd();
  });
  let frames: Observable<string>;
  try {
    frames = await follow(following.signal, gate);
  } catch (e) {
    await end();
    throw e;
  }
  return { convUid, answer: { type: 'stream', frames, eagerHeaders, gate }, abort: (r) => following.abort(r), end };
}
