import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunState } from '../conversations/runs.repository';

/** How a chat run ended: a stored run state other than `running`. */
export type RunOutcome = Exclude<RunState, 'running'>;

/** How one LLM call ended. */
export type LlmCallOutcome = 'ok' | 'error' | 'cancelled';

/** Token counts a provider reported; `@ensemble/llm`'s `Usage` fits. */
export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
}

export { UNMATCHED_ROUTE } from './route';

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const LLM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 3, 5, 10, 30];
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/**
 * Prometheus metrics of one server instance, in a Registry of its own (not
 * prom-client's global one, so several servers in one process do not clash).
 * The HTTP metrics are recorded by the request middleware; the chat module
 * reports streams, runs and LLM calls through the small methods below, or
 * through `startRun()`, which times a run and its LLM waits for it.
 *
 * Label values must stay few: `mode` is a validated chat mode, `model` a
 * configured model name, never free text from a request.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to the end of its response (whole stream for SSE), by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  private readonly openStreams = new Gauge({
    name: 'ensemble_open_streams',
    help: 'Server-sent event streams currently open.',
    registers: [this.registry],
  });
  private readonly chatRuns = new Counter({
    name: 'ensemble_chat_runs_total',
    help: 'Finished chat runs by chat mode and outcome (complete, failed, cancelled).',
    labelNames: ['mode', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly llmDuration = new Histogram({
    name: 'ensemble_llm_call_duration_seconds',
    help: 'Duration of LLM calls (request to last token) by model and outcome (ok, error, cancelled).',
    labelNames: ['model', 'outcome'] as const,
    buckets: LLM_BUCKETS,
    registers: [this.registry],
  });
  private readonly llmTtft = new Histogram({
    name: 'ensemble_llm_time_to_first_token_seconds',
    help: 'Time from sending an LLM request to its first text token, by model.',
    labelNames: ['model'] as const,
    buckets: TTFT_BUCKETS,
    registers: [this.registry],
  });
  private readonly llmTokens = new Counter({
    name: 'ensemble_llm_tokens_total',
    help: 'Tokens reported by providers, by model and kind (input, output).',
    labelNames: ['model', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly toolCalls = new Histogram({
    name: 'ensemble_tool_call_duration_seconds',
    help: 'Duration of MCP tool calls by server, tool and outcome (complete, failed, invalid_args, timeout, cancelled, unavailable); its _count counts the calls.',
    labelNames: ['server', 'tool', 'outcome'] as const,
    buckets: LLM_BUCKETS,
    registers: [this.registry],
  });
  private readonly overhead = new Histogram({
    name: 'ensemble_request_overhead_seconds',
    help: "Ensemble's own time per chat request: total time minus time spent waiting on LLM calls, by chat mode.",
    labelNames: ['mode'] as const,
    buckets: OVERHEAD_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    // The event-loop lag is sampled every 100 ms rather than prom-client's default 10 ms: an idle server
    // is then woken 10 times a second instead of 100, and a scrape still gets hundreds of samples.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  /** Content-Type of `metrics()` (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text served at `GET /api/metrics`. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Records one finished HTTP request (called by the request middleware). */
  observeHttp(method: string, route: string, status: number, durationSeconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, durationSeconds);
  }

  /** An SSE stream started. Pair with exactly one `streamClosed()`, or use `trackStream()`. */
  streamOpened(): void {
    this.openStreams.inc();
  }

  /** An SSE stream ended (finished, failed or the client went away). */
  streamClosed(): void {
    this.openStreams.dec();
  }

  /**
   * Counts a stream as open until the returned function is called; calling it
   * again does nothing, so it is safe to call from both `finish` and `close`.
   */
  trackStream(): () => void {
    this.streamOpened();
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.streamClosed();
    };
  }

  /** A chat run ended; `mode` is the chat mode (`chat_normal`, `chat_app`). */
  runFinished(mode: string, outcome: RunOutcome): void {
    this.chatRuns.inc({ mode, outcome });
  }

  /**
   * One LLM call ended. `model` is the registry name that answered (or was
   * tried); `durationSeconds` runs from the request to the last token;
   * `ttftSeconds`, when the call produced text, to the first token; `usage`
   * adds the reported input and output tokens.
   */
  llmCall(
    model: string,
    outcome: LlmCallOutcome,
    durationSeconds: number,
    ttftSeconds?: number,
    usage?: TokenUsage,
  ): void {
    this.llmDuration.observe({ model, outcome }, durationSeconds);
    if (ttftSeconds !== undefined) this.llmTtft.observe({ model }, ttftSeconds);
    if (usage?.inputTokens) this.llmTokens.inc({ model, kind: 'input' }, usage.inputTokens);
    if (usage?.outputTokens) this.llmTokens.inc({ model, kind: 'output' }, usage.outputTokens);
  }

  /** One MCP tool call ended; `server` and `tool` come from the tools file and the server's list. */
  toolCall(server: string, tool: string, outcome: string, durationSeconds: number): void {
    this.toolCalls.observe({ server, tool, outcome }, durationSeconds);
  }

  /** Ensemble's own time for one chat request: total time minus time waiting on LLM calls. */
  requestOverhead(mode: string, overheadSeconds: number): void {
    this.overhead.observe({ mode }, Math.max(0, overheadSeconds));
  }

  /**
   * Times one chat run: call `llmCall(model)` around each LLM call and
   * `finish(outcome)` once at the end. `finish` records the run, and the
   * overhead as the run's wall time minus the time at least one LLM call was
   * in flight (parallel calls are not double-counted). Idempotent.
   */
  startRun(mode: string): RunTimer {
    return new RunTimer(this, mode);
  }
}

/** A run in progress (see `MetricsService.startRun`). */
export class RunTimer {
  private readonly started = process.hrtime.bigint();
  private inFlight = 0;
  private waitStarted = 0n;
  private waitedSeconds = 0;
  private finished = false;

  constructor(
    private readonly metrics: MetricsService,
    readonly mode: string,
  ) {}

  /** Starts timing one LLM call; report its first token and its end on the returned handle. */
  llmCall(model: string): LlmCallTimer {
    if (this.inFlight++ === 0) this.waitStarted = process.hrtime.bigint();
    return new LlmCallTimer(this.metrics, model, () => {
      if (--this.inFlight === 0) this.waitedSeconds += seconds(this.waitStarted);
    });
  }

  /** Seconds spent so far with at least one LLM call in flight. */
  get llmWaitSeconds(): number {
    return this.waitedSeconds + (this.inFlight > 0 ? seconds(this.waitStarted) : 0);
  }

  /** Records the run's outcome and overhead; later calls do nothing. */
  finish(outcome: RunOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.metrics.runFinished(this.mode, outcome);
    this.metrics.requestOverhead(this.mode, seconds(this.started) - this.llmWaitSeconds);
  }
}

/** One LLM call in progress (see `RunTimer.llmCall`). */
export class LlmCallTimer {
  private readonly started = process.hrtime.bigint();
  private ttft: number | undefined;
  private ended = false;

  constructor(
    private readonly metrics: MetricsService,
    private model: string,
    private readonly onEnd: () => void,
  ) {}

  /** The model that actually answered, when a fallback strategy moved on from the one first named. */
  answeredBy(model: string): void {
    this.model = model;
  }

  /** The first text token arrived (later calls are ignored). */
  firstToken(): void {
    this.ttft ??= seconds(this.started);
  }

  /** The call ended; records duration, time to first token and tokens. Idempotent. */
  end(outcome: LlmCallOutcome, usage?: TokenUsage): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
    this.metrics.llmCall(this.model, outcome, seconds(this.started), this.ttft, usage);
  }
}
