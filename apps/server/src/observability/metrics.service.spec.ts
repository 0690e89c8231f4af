import { MetricsService } from './metrics.service';

async function value(
  metrics: MetricsService,
  name: string,
  labels: Record<string, string>,
  suffix = '',
): Promise<number | undefined> {
  const json = await metrics.registry.getMetricsAsJSON();
  const metric = json.find((m) => m.name === name);
  const v = (
    metric?.values as Array<{ metricName?: string; labels: Record<string, string | number>; value: number }> | undefined
  )?.find(
    (x) => (x.metricName ?? name) === name + suffix && Object.entries(labels).every(([k, l]) => x.labels[k] === l),
  );
  return v?.value;
}

describe('MetricsService', () => {
  it('keeps its own registry (two instances do not share samples)', async () => {
    const a = new MetricsService();
    const b = new MetricsService();
    a.observeHttp('GET', '/api/x', 200, 0.01);
    expect(await value(a, 'http_requests_total', { route: '/api/x' })).toBe(1);
    expect(await value(b, 'http_requests_total', { route: '/api/x' })).toBeUndefined();
  });

  it('RunTimer: overhead is wall time minus time with an LLM call in flight; overlapping calls count once', async () => {
    // The clock (process.hrtime) is Jest's: the durations are exact, however loaded the machine.
    jest.useFakeTimers();
    try {
      const metrics = new MetricsService();
      const run = metrics.startRun('chat_app');
      jest.advanceTimersByTime(20); // before any call: overhead
      const a = run.llmCall('m1');
      jest.advanceTimersByTime(50);
      const b = run.llmCall('m2');
      jest.advanceTimersByTime(70);
      a.firstToken();
      a.end('ok', { inputTokens: 5, outputTokens: 7, totalTokens: 12 } as never);
      jest.advanceTimersByTime(30);
      b.end('cancelled');
      jest.advanceTimersByTime(10); // after the last call: overhead
      expect(run.llmWaitSeconds).toBeCloseTo(0.15, 9); // a from 20 ms, b until 170 ms: not 120 + 100 ms
      run.finish('complete');
      expect(await value(metrics, 'ensemble_request_overhead_seconds', { mode: 'chat_app' }, '_sum')).toBeCloseTo(
        0.03,
        9,
      );
      expect(
        await value(metrics, 'ensemble_llm_call_duration_seconds', { model: 'm1', outcome: 'ok' }, '_sum'),
      ).toBeCloseTo(0.12, 9);
      expect(await value(metrics, 'ensemble_llm_time_to_first_token_seconds', { model: 'm1' }, '_sum')).toBeCloseTo(
        0.12,
        9,
      );
      expect(await value(metrics, 'ensemble_chat_runs_total', { mode: 'chat_app', outcome: 'complete' })).toBe(1);
      expect(await value(metrics, 'ensemble_llm_tokens_total', { model: 'm1', kind: 'output' })).toBe(7);
      expect(
        await value(metrics, 'ensemble_llm_call_duration_seconds', { model: 'm2', outcome: 'cancelled' }, '_count'),
      ).toBe(1);
      expect(
        await value(metrics, 'ensemble_llm_call_duration_seconds', { model: 'm2', outcome: 'cancelled' }, '_sum'),
      ).toBeCloseTo(0.1, 9);
      expect(
        await value(metrics, 'ensemble_llm_time_to_first_token_seconds', { model: 'm2' }, '_count'),
      ).toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });

  it('LlmCallTimer: answeredBy renames the model; end is idempotent', async () => {
    const metrics = new MetricsService();
    const call = metrics.startRun('chat_normal').llmCall('first');
    call.answeredBy('fallback');
    call.end('ok');
    call.end('error');
    expect(
      await value(metrics, 'ensemble_llm_call_duration_seconds', { model: 'fallback', outcome: 'ok' }, '_count'),
    ).toBe(1);
    expect(
      await value(metrics, 'ensemble_llm_call_duration_seconds', { model: 'fallback', outcome: 'error' }, '_count'),
    ).toBeUndefined();
  });
});
