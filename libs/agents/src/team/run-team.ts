import { Observable } from 'rxjs';
import type { TeamEvent, TeamRunInput } from '../types';
import { executeRun } from './execute-run';

/**
 * Runs an app's team on the user's input and emits what happens (see
 * `TeamEvent` and the README for the exact sequences). Cold: each
 * subscription is one run. Aborting `input.signal` or unsubscribing stops the
 * run at once: no LLM call starts afterwards, the one in flight is aborted
 * through its signal, and (while still subscribed) `run-cancelled` is the
 * last event before completion. The observable never errors: failures end
 * with `run-failed`.
 */
export function runTeam(input: TeamRunInput): Observable<TeamEvent> {
  return new Observable<TeamEvent>((subscriber) => {
    const controller = new AbortController();
    const forwardAbort = () => controller.abort(input.signal.reason);
    if (input.signal.aborted) forwardAbort();
    else input.signal.addEventListener('abort', forwardAbort, { once: true });

    void executeRun(input, controller.signal, (event) => subscriber.next(event)).then(() => subscriber.complete());

    return () => {
      input.signal.removeEventListener('abort', forwardAbort);
      controller.abort();
    };
  });
}
