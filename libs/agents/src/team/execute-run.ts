import type { TeamEvent, TeamMode, TeamRunInput } from '../types';
import { runAutoPlan } from './auto-plan';
import { runAwelLayout } from './awel-layout';
import { runNativeApp } from './native-app';
import { RunContext } from './run-context';
import { RunFailure } from './run-errors';
import { runSingleAgent } from './single-agent';

const MODES: Record<TeamMode, (run: RunContext) => Promise<string>> = {
  single_agent: runSingleAgent,
  auto_plan: runAutoPlan,
  awel_layout: runAwelLayout,
  native_app: runNativeApp,
};

/**
 * Runs the app's team mode and emits its events, from `run-started` to
 * exactly one of `run-done`, `run-failed` or `run-cancelled`. Never rejects:
 * an unexpected error becomes `run-failed`; an abort wins over any failure.
 */
export async function executeRun(
  input: TeamRunInput,
  signal: AbortSignal,
  emit: (event: TeamEvent) => void,
): Promise<void> {
  const run = new RunContext(input, signal, emit);
  emit({ type: 'run-started', mode: input.app.teamMode, input: input.input });
  try {
    const mode = MODES[input.app.teamMode];
    if (!mode) throw new RunFailure(`Unknown team mode "${String(input.app.teamMode)}".`);
    const answer = await mode(run);
    emit({ type: 'run-done', answer, usage: run.usage() });
  } catch (error) {
    const usage = run.usage();
    if (signal.aborted) emit({ type: 'run-cancelled', usage });
    else if (error instanceof RunFailure) emit({ type: 'run-failed', reason: error.message, usage });
    else {
      const detail = error instanceof Error ? error.message : String(error);
      emit({ type: 'run-failed', reason: `Internal error: ${detail}`, usage });
    }
  }
}
