import type { AppConfig } from '../config/config';
import { RunRegistry } from './run-registry';

const registry = () => new RunRegistry({ shutdownGraceMs: 100 } as AppConfig);

describe('RunRegistry', () => {
  it('aborts a registered run of the conversation, and only that one', () => {
    const runs = registry();
    const a = new AbortController();
    const b = new AbortController();
    runs.add('conv-a', a, Date.now());
    runs.add('conv-b', b, Date.now());
    expect(runs.abortLocal('conv-a', 'cancelled by request')).toBe(true);
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe('cancelled by request');
    expect(b.signal.aborted).toBe(false);
  });

  it('a cancel that came while the run was recorded but not yet registered aborts it on registration', () => {
    const runs = registry();
    const recordedAt = Date.now();
    // The run's row says `running`; another replica's cancel arrives before this replica registered the run.
    expect(runs.abortLocal('conv-early', 'cancelled by request (another replica)')).toBe(false);
    const controller = new AbortController();
    runs.add('conv-early', controller, recordedAt);
    expect(controller.signal.aborted).toBe(true);
    expect(controller.signal.reason).toBe('cancelled by request (another replica)');
    // Claimed once: the conversation's next run is not cancelled by it.
    const next = new AbortController();
    runs.add('conv-early', next, recordedAt);
    expect(next.signal.aborted).toBe(false);
  });

  it('a cancel from before the run was recorded does not abort it', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const runs = registry();
      expect(runs.abortLocal('conv-late', 'cancelled by request')).toBe(false);
      jest.setSystemTime(1_000_050);
      const controller = new AbortController();
      runs.add('conv-late', controller, Date.now());
      expect(controller.signal.aborted).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('forgets unclaimed cancels after a minute', () => {
    jest.useFakeTimers({ now: 2_000_000 });
    try {
      const runs = registry();
      const recordedAt = Date.now();
      runs.abortLocal('conv-old', 'cancelled by request');
      jest.setSystemTime(2_000_000 + 61_000);
      // Another cancel prunes what is older than a minute.
      runs.abortLocal('conv-other', 'cancelled by request');
      const controller = new AbortController();
      runs.add('conv-old', controller, recordedAt);
      expect(controller.signal.aborted).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });
});
