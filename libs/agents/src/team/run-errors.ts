/** Ends a run with `run-failed`; the message is the reason shown to the user. */
export class RunFailure extends Error {
  override readonly name = 'RunFailure';
}

/** Ends a run with `run-cancelled`: the run's signal was aborted. */
export class RunCancelled extends Error {
  override readonly name = 'RunCancelled';

  constructor() {
    super('the run was cancelled');
  }
}
