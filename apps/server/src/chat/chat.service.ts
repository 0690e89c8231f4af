import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { concatMap, lastValueFrom, map, Observable, reduce, tap } from 'rxjs';
import { AppDefinition, createRenderer, RunRenderer, runTeam, TeamEvent } from '@ensemble/agents';
import { ChatMessage, LLM_PORT, LlmPort, ModelRegistry, PartBatch, Usage } from '@ensemble/llm';
import { AppsService } from '../apps/apps.service';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';
import { ConversationsService } from '../conversations/conversations.service';
import { RunRecorder } from '../conversations/run-recorder';
import { limitKey, RunLimiter } from '../limits';
import { MetricsService } from '../observability/metrics.service';
import { ChatRequest, parseChatRequest } from './chat-request';
import { ChunkFrames, DONE_FRAME, wireFinishReason, WireFinishReason } from './chunks';
import { llmErrorToApi } from './llm-errors';
import { BatchingLlmPort, meteredLlm } from './metered-llm';
import { CancelBus } from './cancel-bus';
import { DataChat, isDataChatMode } from './data-chat';
import { RunRegistry } from './run-registry';
import { startNow } from './start-now';
import { writeSse } from './sse';

/**
 * What a run produces, whichever the mode: new text (with the whole view so
 * far, for `incremental: false`), a normal end, or a failure after output
 * started. The stream and the non-stream answers are two sinks of it.
 */
type ChatOutput =
  /** `full`: the whole view so far; a function where building it costs (a team's vis). */
  | { type: 'delta'; text: string; full: string | (() => string) }
  | { type: 'end'; reason: WireFinishReason; usage?: Usage }
  | { type: 'fail'; error: ApiError };

interface RunContext {
  request: ChatRequest;
  convUid: string;
  recorder: RunRecorder;
  signal: AbortSignal;
  /** This run's LLM port (metered). */
  llm: BatchingLlmPort;
}

type DeltaOutput = Extract<ChatOutput, { type: 'delta' }>;

const viewOf = (o: DeltaOutput): string => (typeof o.full === 'string' ? o.full : o.full());

const cancelled = () =>
  new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'service_unavailable', 'The run was cancelled before it ended.');

/** POST /api/v2/chat/completions: validation, the run, storage, and both answer shapes. */
@Injectable()
export class ChatService {
  private readonly logger = new Logger('Chat');

  constructor(
    private readonly apps: AppsService,
    private readonly conversations: ConversationsService,
    private readonly models: ModelRegistry,
    private readonly runs: RunRegistry,
    private readonly bus: CancelBus,
    private readonly limiter: RunLimiter,
    private readonly metrics: MetricsService,
    @Inject(LLM_PORT) private readonly llm: LlmPort,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataChat: DataChat,
  ) {}

  /** Validates everything before the first byte, then streams or answers once. */
  async complete(body: unknown, req: Request, res: Response): Promise<void> {
    const request = parseChatRequest(body);
    // chat_data / chat_db_qa run as a one-step team over the datasource, on the request's model.
    const data = isDataChatMode(request.chatMode) ? await this.dataChat.prepare(request) : undefined;
    const app = request.chatMode === 'chat_app' ? await this.apps.definition(request.chatParam!) : data?.app;
    if ((!app || data) && !this.models.has(request.model)) {
      throw ApiError.badRequest(
        'model_not_found',
        `Model ${JSON.stringify(request.model)} is not configured (see GET /api/v2/models).`,
        'model',
      );
    }
    if (app && app.agents.length === 0 && app.teamMode !== 'native_app') {
      throw ApiError.badRequest(
        'app_not_runnable',
        `App ${JSON.stringify(app.appCode)} has no agents (details) to run.`,
        'chat_param',
      );
    }
    const convUid = request.convUid ?? randomUUID();
    const history = request.convUid ? await this.conversations.history(convUid) : [];
    const releaseSlot = this.limiter.acquire(limitKey(req));
    const turn = {
      convUid,
      chatMode: request.chatMode,
      appCode: data ? null : (app?.appCode ?? null),
      teamMode: data ? null : (app?.teamMode ?? null),
      userName: request.userName ?? null,
      sysCode: request.sysCode ?? null,
      input: request.input,
      model: app && !data ? null : request.model,
    };
    // A conversation named here cannot collide: its rows are written while the run starts.
    const recorder = request.convUid
      ? await this.conversations.startRun(turn).catch((e: unknown) => {
          releaseSlot();
          throw e;
        })
      : this.conversations.openFresh(turn);

    const controller = new AbortController();
    const release = this.runs.add(convUid, controller);
    const onClose = () => {
      if (!res.writableFinished) controller.abort('client closed the connection');
    };
    res.on('close', onClose);
    const started = Date.now();
    const timer = this.metrics.startRun(request.chatMode);
    const streamClosed = request.stream ? this.metrics.trackStream() : undefined;
    const ctx: RunContext = { request, convUid, recorder, signal: controller.signal, llm: meteredLlm(this.llm, timer) };
    const run = startNow(app ? this.teamOutputs(ctx, app, history, data?.renderer) : this.chatOutputs(ctx, history));
    // chat_app answers with the conv_uid as id, as DB-GPT does; a plain chat with an OpenAI-style id.
    const frames = new ChunkFrames(app ? convUid : `chatcmpl-${recorder.runId}`, request.model);
    // Also on an error answer: the client learns which conversation failed.
    res.setHeader('X-Conv-Uid', convUid);
    try {
      // Nothing is answered before the run's rows exist; if they cannot be written, the request fails with its status.
      await recorder.opened;
      if (request.stream) {
        await writeSse(res, this.sseFrames(run.output, frames, ctx), {
          eagerHeaders: !!app,
          pingIntervalMs: this.config.ssePingIntervalMs,
        });
      } else {
        const answer = await this.completion(run.output, frames);
        await recorder.flush();
        res.status(200).json(answer);
      }
    } finally {
      res.off('close', onClose);
      if (!recorder.hasEnded) controller.abort('the request ended before the run');
      run.stop();
      if (!recorder.hasEnded) recorder.end({ state: 'cancelled', error: 'The request ended before the run did.' });
      await recorder.flush();
      release();
      releaseSlot();
      streamClosed?.();
      timer.finish(recorder.state);
      this.logger.log(
        `run conv_uid=${convUid} mode=${request.chatMode}${app ? ` app=${app.appCode} team=${app.teamMode}` : ` model=${request.model}`} ` +
          `stream=${request.stream} state=${recorder.state} ${Date.now() - started}ms`,
      );
    }
  }

  /**
   * Aborts the run in progress of a conversation: here when this replica
   * serves it, otherwise through the cancel bus on the replica that does.
   * `cancelled` is false when nothing was running.
   */
  async cancel(convUid: string): Promise<{ conv_uid: string; cancelled: boolean }> {
    if (this.runs.abortLocal(convUid, 'cancelled by request')) return { conv_uid: convUid, cancelled: true };
    const state = await this.conversations.state(convUid);
    if (!state)
      throw ApiError.notFound(
        'conversation_not_found',
        `Conversation ${JSON.stringify(convUid)} was not found.`,
        'conv_uid',
      );
    if (state !== 'running') return { conv_uid: convUid, cancelled: false };
    await this.bus.publish(convUid);
    return { conv_uid: convUid, cancelled: true };
  }

  private sseFrames(outputs$: Observable<ChatOutput>, frames: ChunkFrames, ctx: RunContext): Observable<string> {
    const { incremental, includeUsage } = ctx.request;
    let lastView: string | undefined;
    const frameOf = (o: ChatOutput): string => {
      if (o.type === 'delta') {
        if (incremental) return frames.content(o.text);
        // incremental: false sends the whole view, and only when it changed
        const view = viewOf(o);
        if (view === lastView) return '';
        lastView = view;
        return frames.content(view);
      }
      if (o.type === 'end') return frames.finish(o.reason) + (includeUsage ? frames.usage(o.usage) : '');
      return frames.error(o.error.body());
    };
    // One subscriber between the outputs and the writer (an operator chain per stream costs memory while it is held).
    return new Observable<string>((subscriber) => {
      const subscription = outputs$.subscribe({
        next: (o) => {
          const frame = frameOf(o);
          if (frame !== '') subscriber.next(frame);
        },
        error: (e: unknown) => subscriber.error(e),
        // [DONE] goes out once the run's rows have landed, so a client can read them right away.
        complete: () =>
          void ctx.recorder.flush().then(
            () => {
              if (subscriber.closed) return;
              subscriber.next(DONE_FRAME);
              subscriber.complete();
            },
            (e: unknown) => subscriber.error(e),
          ),
      });
      return () => subscription.unsubscribe();
    });
  }

  /** The non-stream answer: the final view (read once, at the end), finish reason and usage. */
  private completion(outputs$: Observable<ChatOutput>, frames: ChunkFrames) {
    return lastValueFrom(
      outputs$.pipe(
        reduce(
          (acc, o) => {
            if (o.type === 'fail') throw o.error;
            if (o.type === 'delta') return { ...acc, view: o };
            return { ...acc, reason: o.reason, usage: o.usage };
          },
          {
            view: undefined as DeltaOutput | undefined,
            // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- widens the seed's type
            reason: 'stop' as WireFinishReason,
            usage: undefined as Usage | undefined,
          },
        ),
        map((r) => frames.completion(r.view ? viewOf(r.view) : '', r.reason, r.usage)),
      ),
    );
  }

  /** chat_app: the team's events, recorded as they come and rendered as the vis (or plain) view. */
  private teamOutputs(
    ctx: RunContext,
    app: AppDefinition,
    history: { user: string; assistant: string }[],
    renderer: RunRenderer = createRenderer(ctx.request.enableVis),
  ): Observable<ChatOutput> {
    const run$ = runTeam({
      app,
      input: ctx.request.input,
      history,
      llm: ctx.llm,
      signal: ctx.signal,
      resources: this.dataChat.ports(),
      options: { temperature: ctx.request.temperature, maxTokens: ctx.request.maxTokens },
    });
    return run$.pipe(
      tap((event) => ctx.recorder.record(event)),
      concatMap((event: TeamEvent) => {
        const out: ChatOutput[] = [];
        const text = renderer.push(event);
        if (text) out.push({ type: 'delta', text, full: () => renderer.snapshot() });
        if (event.type === 'run-done') out.push({ type: 'end', reason: 'stop', usage: event.usage });
        if (event.type === 'run-failed')
          out.push({ type: 'fail', error: new ApiError(500, 'run_failed', event.reason) });
        if (event.type === 'run-cancelled') out.push({ type: 'fail', error: cancelled() });
        return out;
      }),
    );
  }

  /** chat_normal: one LLM call with the conversation's history, streamed as it comes. */
  private chatOutputs(ctx: RunContext, history: { user: string; assistant: string }[]): Observable<ChatOutput> {
    const { request, recorder, signal, llm } = ctx;
    const system = request.messages.filter((m) => m.role === 'system');
    const rest = request.messages.filter((m) => m.role !== 'system');
    const messages: ChatMessage[] = [
      ...system,
      ...history.flatMap((t): ChatMessage[] => [
        { role: 'user', content: t.user },
        { role: 'assistant', content: t.assistant },
      ]),
      ...rest,
    ];
    let model = request.model;
    let text = '';
    // One batch per network read of the upstream: its parts become outputs in one synchronous pass.
    const outputsOf = (batch: PartBatch): ChatOutput[] => {
      const out: ChatOutput[] = [];
      for (const part of batch) {
        switch (part.type) {
          case 'start':
            model = part.model;
            break;
          case 'text-delta':
            text += part.text;
            out.push({ type: 'delta', text: part.text, full: text });
            break;
          case 'finish':
            recorder.message({
              round: 1,
              stepNum: null,
              sender: 'assistant',
              receiver: 'Human',
              model,
              content: text,
              success: true,
              usage: part.usage,
            });
            recorder.end({ state: 'complete', answer: text, usage: part.usage, model });
            out.push({ type: 'end', reason: wireFinishReason(part.finishReason), usage: part.usage });
            break;
          case 'error': {
            const aborted = part.error.code === 'aborted' || signal.aborted;
            if (text)
              recorder.message({
                round: 1,
                stepNum: null,
                sender: 'assistant',
                receiver: 'Human',
                model,
                content: text,
                success: false,
              });
            recorder.end({ state: aborted ? 'cancelled' : 'failed', error: part.error.message, model });
            const error = aborted ? cancelled() : llmErrorToApi(part.error);
            // Before any text the answer can still carry the real HTTP status.
            if (!text) throw error;
            out.push({ type: 'fail', error });
          }
        }
      }
      return out;
    };
    const call = {
      model: request.model,
      messages,
      temperature: request.temperature,
      maxTokens: request.maxTokens,
      topP: request.topP,
      stop: request.stop,
      signal,
    };
    // One loop from the LLM's batches to the subscriber: no from()/concatMap held per stream.
    return new Observable<ChatOutput>((subscriber) => {
      let stopped = false;
      const batches = llm.streamBatches(call)[Symbol.asyncIterator]();
      void (async () => {
        try {
          for (;;) {
            const next = await batches.next();
            if (stopped) return;
            if (next.done) break;
            for (const output of outputsOf(next.value)) {
              subscriber.next(output);
              if (stopped) return;
            }
          }
          subscriber.complete();
        } catch (e) {
          if (!stopped) subscriber.error(e);
        }
      })();
      return () => {
        stopped = true;
        void batches.return?.(undefined)?.catch(() => undefined);
      };
    });
  }
}
