import { MetricsService } from './metrics.service';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    const metrics = new MetricsService();
    const run = metrics.startRun('chat_app');
    const a = run.llmCall('m1');
    const b = run.llmCall('m2');
    await sleep(120);
    a.firstToken();
    a.end('ok', { inputTokens: 5, outputTokens: 7, totalTokens: 12 } as never);
    b.end('cancelled');
    await sleep(30);
    const waited = run.llmWaitSeconds;
    expect(waited).toBeGreaterThanOrEqual(0.11);
    expect(waited).toBeLessThan(0.2); // not 2 × 120 ms
    run.finish('complete');
    const overhead = await value(metrics, 'ensemble_request_overhead_seconds', { mode: 'chat_app' }, '_sum');
    expect(overhead).toBeGreaterThanOrEqual(0.025);
    expect(overhead).toBeLessThan(0.1);
    expect(await value(metrics, 'ensemble_chat_runs_total', { mode: 'chat_app', outcome: 'complete' })).toBe(1);
    expect(await value(metrics, 'ensemble_llm_tokens_total', { model: 'm1', kind: 'output' })).toBe(7);
    expect(
      await value(metrics, 'ensemble_llm_call_duration_seconds', { model: 'm2', outcome: 'cancelled' }, '_count'),
    ).toBe(1);
    expect(await value(metrics, 'ensemble_llm_time_to_first_token_seconds', { model: 'm2' }, '_count')).toBeUndefined();
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
