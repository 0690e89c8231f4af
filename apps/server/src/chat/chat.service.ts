import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { catchError, concatMap, lastValueFrom, map, Observable, of, reduce, tap } from 'rxjs';
import { AppDefinition, capHistoryChars, createRenderer, RunRenderer, runTeam, TeamEvent } from '@ensemble/agents';
import { ChatMessage, LLM_PORT, LlmPort, ModelRegistry, PartBatch, partBatches, Usage } from '@ensemble/llm';
import { AppsService } from '../apps/apps.service';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';
import { conversationNotFound, ConversationsService, Viewer } from '../conversations/conversations.service';
import { RunRecorder } from '../conversations/run-recorder';
import { LimitSubject, ReleaseRun, RunLimiter } from '../limits';
import { MetricsService, RunTimer } from '../observability/metrics.service';
import { ToolsService } from '../tools/tools.service';
import { ChatRequest } from './chat-request';
import { ChatAnswer, ChatCaller, ChatRun, followingRun, once } from './chat-run';
import { ChunkFrames, DONE_FRAME, wireFinishReason, WireFinishReason } from './chunks';
import { clientFinishReason, failureNote } from './dbgpt-compat';
import { llmErrorToApi } from './llm-errors';
import { meteredLlm } from './metered-llm';
import { CancelBus } from './cancel-bus';
import type { KnowledgeChatTurn } from '../knowledge/knowledge-chat';
import { KnowledgeService } from '../knowledge/knowledge.service';
import { DataChat, DataChatRun, isDataChatMode } from './data-chat';
import { RunRegistry } from './run-registry';
import { FlowGate, gatedLlm } from './flow-gate';
import { endIterator } from './iterators';
import { RunStreamsService } from '../run-streams/run-streams.service';

/**
 * What a run produces, whichever the mode: new text (with the whole view so
 * far, for `incremental: false`), a normal end, or a failure after output
 * started. The stream and the non-stream answers are two sinks of it.
 */
type ChatOutput =
  /** `full`: the whole view so far; a function where building it costs (a team's vis). */
  | { type: 'delta'; text: string; full: string | (() => string) }
  | { type: 'end'; reason: WireFinishReason; usage?: Usage }
  /** `text`/`full`: how the failure shows in the content (the new text, the whole view with it). */
  | { type: 'fail'; error: ApiError; text: string; full: string | (() => string) };

interface RunContext {
  request: ChatRequest;
  convUid: string;
  recorder: RunRecorder;
  signal: AbortSignal;
  /** This run's LLM port (metered). */
  llm: LlmPort;
}

/** A validated, recorded background run with its slot, before it starts. */
interface BackgroundRun {
  request: ChatRequest;
  convUid: string;
  recorder: RunRecorder;
  /** When the run's row began to be written (see `RunRegistry.add`). */
  recordedAt: number;
  releaseSlot: ReleaseRun;
  app: AppDefinition | undefined;
  history: { user: string; assistant: string }[];
  data: DataChatRun | undefined;
  kb: KnowledgeChatTurn | undefined;
}

type DeltaOutput = Extract<ChatOutput, { type: 'delta' }>;

const viewOf = (o: { full: string | (() => string) }): string => (typeof o.full === 'string' ? o.full : o.full());

/** What a stream whose answer was sent but not stored ends with (its run is marked failed once the database is back). */
const LOST_ROWS_MESSAGE =
  'The answer above could not be stored: the database is unavailable. The run will be marked failed; ask again for a stored answer.';

/** incremental: false: characters of whole views sent in one tick before only the latest is. */
const BURST_VIEW_CHARS = 64 * 1024;

/** Why a run was aborted, as stored with it (the signal's reason when it is a sentence). */
const abortReason = (signal: AbortSignal, fallback = 'The request ended before the run did.'): string =>
  typeof signal.reason === 'string' ? signal.reason : fallback;

const cancelled = () =>
  new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'service_unavailable', 'The run was cancelled before it ended.');

/** POST /api/v2/chat/completions: validation, the run, its storage, and what each answer shape carries. */
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
    private readonly tools: ToolsService,
    @Inject(LLM_PORT) private readonly llm: LlmPort,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly knowledge: KnowledgeService,
    private readonly dataChat: DataChat,
    private readonly streams: RunStreamsService,
  ) {}

  /**
   * Validates everything before the first byte, records the run and takes
   * its slot, then hands back the run for the controller to answer with.
   * Order: the request, the app and model, the key's run cap (checked), the
   * run's rows (a busy conversation is a 409 before a slot is taken), the
   * slot; only then is the run registered, and its first LLM request is
   * sent once the answer is read, so a request that fails before its stream
   * costs no upstream call. `onConversation` learns the conversation as
   * soon as it is known (an error from then on concerns it). The run's
   * `end()` releases the slot and the registration, once, on every path.
   */
  async start(request: ChatRequest, caller: ChatCaller, onConversation: (convUid: string) => void): Promise<ChatRun> {
    // chat_data / chat_db_qa run as a one-step team over the datasource, on the request's model.
    const data = isDataChatMode(request.chatMode) ? await this.dataChat.prepare(request) : undefined;
    const app = request.chatMode === 'chat_app' ? await this.apps.definition(request.chatParam!) : data?.app;
    const kb =
      request.chatMode === 'chat_knowledge'
        ? await this.knowledge.chatTurn(request.chatParam!, request.input)
        : undefined;
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
    const { viewer, limits } = caller;
    await this.limiter.check(limits);
    const convUid = request.convUid ?? randomUUID();
    const history = request.convUid
      ? capHistoryChars(await this.conversations.history(convUid), this.config.historyMaxChars)
      : [];
    const turn = {
      convUid,
      ownerKey: viewer.keyId,
      chatMode: request.chatMode,
      appCode: data ? null : (app?.appCode ?? null),
      // A conversation stays on its datasource or knowledge space: its history is about that one.
      chatParam: data || kb ? request.chatParam! : null,
      teamMode: data ? null : (app?.teamMode ?? null),
      userName: request.userName ?? null,
      sysCode: request.sysCode ?? null,
      input: request.input,
      model: app && !data ? null : request.model,
    };
    onConversation(convUid);
    // From here the run may be seen `running` (and cancelled) before it is registered.
    const recordedAt = Date.now();
    // The run's rows exist before anything else happens; if they cannot be written, the request fails with its status.
    const recorder = request.convUid
      ? await this.conversations.startRun(turn, viewer)
      : this.conversations.openFresh(turn);
    await recorder.opened;
    const releaseSlot = await this.takeSlot(limits, recorder);
    if (request.background)
      return this.background({ request, convUid, recorder, recordedAt, releaseSlot, app, history, data, kb });

    const controller = new AbortController();
    const gate = new FlowGate();
    const started = Date.now();
    let release: (() => void) | undefined;
    let streamClosed: (() => void) | undefined;
    let timer: RunTimer | undefined;
    const end = once(() =>
      this.endRun({ request, convUid, recorder, app, controller, started, timer, background: false }, () => {
        release?.();
        streamClosed?.();
        return releaseSlot();
      }),
    );
    const abort = (reason: string) => controller.abort(reason);
    try {
      release = this.runs.add(convUid, controller, recordedAt);
      timer = this.metrics.startRun(request.chatMode);
      streamClosed = request.stream ? this.metrics.trackStream() : undefined;
      const llm = gatedLlm(meteredLlm(this.llm, timer), gate, controller.signal);
      const ctx: RunContext = { request, convUid, recorder, signal: controller.signal, llm };
      const outputs$ = app ? this.teamOutputs(ctx, app, history, data?.renderer) : this.chatOutputs(ctx, history, kb);
      // chat_app answers with the conv_uid as id, as DB-GPT does; a plain chat with an OpenAI-style id.
      const frames = new ChunkFrames(app ? convUid : `chatcmpl-${recorder.runId}`, request.model);
      const answer: ChatAnswer = request.stream
        ? { type: 'stream', frames: this.sseFrames(outputs$, frames, ctx, !!app), eagerHeaders: !!app, gate }
        : {
            type: 'completion',
            completion: async () => {
              const completion = await this.completion(outputs$, frames, request.dbgptFamily);
              await recorder.flush();
              return completion;
            },
          };
      return { convUid, answer, abort, end };
    } catch (e) {
      await end();
      throw e;
    }
  }

  /**
   * The end of every run, foreground or background: a run still going is
   * aborted and stored `cancelled` with the reason, its rows flushed (rows
   * the database lost are marked failed later), then `free` gives back its
   * registration and slot whatever happened, and the run is counted and
   * logged.
   */
  private async endRun(
    run: {
      request: ChatRequest;
      convUid: string;
      recorder: RunRecorder;
      app: AppDefinition | undefined;
      controller: AbortController;
      started: number;
      timer: RunTimer | undefined;
      background: boolean;
    },
    free: () => Promise<void>,
  ): Promise<void> {
    const { request, convUid, recorder, app, controller } = run;
    try {
      if (!recorder.hasEnded) {
        controller.abort(
          run.background ? 'The run ended before it finished.' : 'The request ended before the run did.',
        );
        recorder.end({ state: 'cancelled', error: abortReason(controller.signal) });
      }
      await recorder.flush().catch(() => undefined);
    } finally {
      await free();
      run.timer?.finish(recorder.state);
      this.logger.log(
        `run conv_uid=${convUid} mode=${request.chatMode}${app ? ` app=${app.appCode} team=${app.teamMode}` : ` model=${request.model}`} ` +
          `${run.background ? 'background ' : ''}stream=${request.stream} state=${recorder.state} ${Date.now() - run.started}ms`,
      );
    }
  }

  /**
   * A background run (SPEC §10): detached from the request. Its frames (the
   * same bytes a stream would carry, numbered) go to the run's stored
   * stream; it never waits for a reader (no flow gate) and a client leaving
   * does not cancel it (an explicit cancel or a shutdown still does).
   * The request then follows that stream from its start (SSE), or answers
   * 202 at once: the handle's `abort` and `end` stop only that following.
   * The slot, registration and recorder end when the run does.
   */
  private async background(run: BackgroundRun): Promise<ChatRun> {
    const { request, convUid, recorder, recordedAt, releaseSlot, app, history, data, kb } = run;
    const controller = new AbortController();
    const started = Date.now();
    const frames = new ChunkFrames(app ? convUid : `chatcmpl-${recorder.runId}`, request.model);
    let release: (() => void) | undefined;
    let timer: RunTimer | undefined;
    const finish = () =>
      this.endRun({ request, convUid, recorder, app, controller, started, timer, background: true }, () => {
        release?.();
        return releaseSlot();
      });
    let published: Promise<void>;
    try {
      const opened = this.streams.open({
        runId: recorder.runId,
        convUid,
        chunkId: frames.id,
        model: frames.model,
        created: frames.created,
        incremental: request.incremental,
      });
      // Stored before the first byte of the answer (the 202, or the stream's headers): a client that leaves at once
      // and resumes on another replica finds it.
      await opened;
      release = this.runs.add(convUid, controller, recordedAt);
      timer = this.metrics.startRun(request.chatMode);
      const llm = meteredLlm(this.llm, timer);
      const ctx: RunContext = { request, convUid, recorder, signal: controller.signal, llm };
      const outputs$ = app ? this.teamOutputs(ctx, app, history, data?.renderer) : this.chatOutputs(ctx, history, kb);
      // Every failure is a frame: there is no HTTP status left to carry it.
      const frames$ = this.sseFrames(outputs$, frames, ctx, true).pipe(
        catchError((e: unknown) => {
          const error = e instanceof ApiError ? e : new ApiError(500, 'internal_error', 'The run failed unexpectedly.');
          return of(frames.failure(failureNote(error.message, ''), error.body()) + DONE_FRAME);
        }),
      );
      published = this.streams.publish(recorder.runId, frames$, frames, (reason) => controller.abort(reason));
    } catch (e) {
      if (!recorder.hasEnded) recorder.end({ state: 'failed', error: e instanceof Error ? e.message : String(e) });
      await finish();
      throw e;
    }
    void published.then(finish);
    if (!request.stream) {
      return {
        convUid,
        answer: { type: 'accepted', state: { conv_uid: convUid, status: 'running' } },
        abort() {},
        end: async () => {},
      };
    }
    return followingRun(
      convUid,
      (signal, gate) => this.streams.follow(recorder.runId, 0, signal, gate),
      !!app,
      this.metrics.trackStream(),
    );
  }

  /**
   * The key's run slot, taken once the run is recorded. Another request of
   * the key may have taken the last one meanwhile: the recorded run is then
   * stored failed with the reason and the request answered 429.
   */
  private async takeSlot(limits: LimitSubject, recorder: RunRecorder): Promise<ReleaseRun> {
    try {
      return await this.limiter.acquire(limits);
    } catch (e) {
      recorder.end({ state: 'failed', error: e instanceof Error ? e.message : String(e) });
      await recorder.flush();
      throw e;
    }
  }

  /**
   * Aborts the run in progress of a conversation: here when this replica
   * serves it, otherwise through the cancel bus on the replica that does.
   * `cancelled` is false when nothing was running. Another key's
   * conversation is not found for a non-admin key.
   */
  async cancel(convUid: string, viewer: Viewer): Promise<{ conv_uid: string; cancelled: boolean }> {
    const state = await this.conversations.state(convUid, viewer);
    if (state && this.runs.abortLocal(convUid, 'cancelled by request')) return { conv_uid: convUid, cancelled: true };
    if (!state) throw conversationNotFound(convUid);
    if (state !== 'running') return { conv_uid: convUid, cancelled: false };
    await this.bus.publish(convUid);
    return { conv_uid: convUid, cancelled: true };
  }

  private sseFrames(
    outputs$: Observable<ChatOutput>,
    frames: ChunkFrames,
    ctx: RunContext,
    eagerHeaders: boolean,
  ): Observable<string> {
    const { incremental, includeUsage, dbgptFamily } = ctx.request;
    // Whether a frame went out (or the headers did): an error after that is a frame, before it an HTTP status.
    let sent = eagerHeaders;
    const frameOf = (o: Exclude<ChatOutput, DeltaOutput> | DeltaOutput): string => {
      if (o.type === 'delta') return frames.content(o.text);
      if (o.type === 'end')
        return frames.finish(clientFinishReason(o.reason, dbgptFamily)) + (includeUsage ? frames.usage(o.usage) : '');
      return frames.failure(incremental ? o.text : viewOf(o), o.error.body());
    };
    // One subscriber between the outputs and the writer (an operator chain per stream costs memory while it is held).
    return new Observable<string>((subscriber) => {
      // incremental: false sends the whole view, only when it changed. A burst (one upstream read of many tokens)
      // sends views as they come up to BURST_VIEW_CHARS in a tick, then only the latest at the tick's end:
      // n tokens never cost n copies of a large view.
      let lastView: string | undefined;
      let held: DeltaOutput | undefined;
      let tickChars = 0;
      let tickEnds = false;
      const sendView = (view: string) => {
        if (view === lastView || subscriber.closed) return;
        lastView = view;
        tickChars += view.length;
        sent = true;
        subscriber.next(frames.content(view));
      };
      const sendHeld = () => {
        if (!held) return;
        const view = viewOf(held);
        held = undefined;
        sendView(view);
      };
      const endTick = () => {
        sendHeld();
        tickChars = 0;
        tickEnds = false;
      };
      const onView = (o: DeltaOutput) => {
        if (!tickEnds) {
          tickEnds = true;
          process.nextTick(endTick);
        }
        if (tickChars < BURST_VIEW_CHARS) sendView(viewOf(o));
        else held = o;
      };
      const subscription = outputs$.subscribe({
        next: (o) => {
          if (o.type === 'delta' && !incremental) return onView(o);
          sendHeld();
          const frame = frameOf(o);
          if (frame === '') return;
          sent = true;
          subscriber.next(frame);
        },
        // Before the stream started the error keeps its HTTP status; after, both client families read it as a frame.
        error: (e: unknown) => {
          sendHeld();
          if (!sent) return subscriber.error(e);
          const error = e instanceof ApiError ? e : new ApiError(500, 'internal_error', 'The run failed unexpectedly.');
          this.logger.error(`run conv_uid=${ctx.convUid} failed after the stream started: ${String(e)}`);
          const shown = incremental ? '' : (lastView ?? '');
          const note = failureNote(error.message, incremental ? 'text sent before' : shown);
          subscriber.next(frames.failure(shown + note, error.body()) + DONE_FRAME);
          subscriber.complete();
        },
        // [DONE] goes out once the run's rows have landed, so a client can read them right away.
        complete: () => {
          sendHeld();
          void ctx.recorder.flush().then(
            () => {
              if (subscriber.closed) return;
              subscriber.next(DONE_FRAME);
              subscriber.complete();
            },
            (e: unknown) => {
              if (!sent) return subscriber.error(e);
              if (subscriber.closed) return;
              // The answer went out but its rows did not land: a failure frame says so, and no [DONE] (SPEC §11).
              this.logger.warn(`run conv_uid=${ctx.convUid} answered but not stored: ${String(e)}`);
              const note = `\n\n${LOST_ROWS_MESSAGE}`;
              const error = new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'database_unavailable', LOST_ROWS_MESSAGE);
              subscriber.next(frames.failure(incremental ? note : (lastView ?? '') + note, error.body()));
              subscriber.complete();
            },
          );
        },
      });
      return () => subscription.unsubscribe();
    });
  }

  /** The non-stream answer: the final view (read once, at the end), finish reason and usage. */
  private completion(outputs$: Observable<ChatOutput>, frames: ChunkFrames, dbgptFamily: boolean) {
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
        map((r) => frames.completion(r.view ? viewOf(r.view) : '', clientFinishReason(r.reason, dbgptFamily), r.usage)),
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
      options: { temperature: ctx.request.temperature, maxTokens: ctx.request.maxTokens },
      resources: { ...this.dataChat.ports(), tools: this.tools.port(), knowledge: this.knowledge },
    });
    return run$.pipe(
      tap((event) =>
        event.type === 'run-cancelled'
          ? ctx.recorder.end({ state: 'cancelled', error: abortReason(ctx.signal), usage: event.usage })
          : ctx.recorder.record(event),
      ),
      concatMap((event: TeamEvent): ChatOutput[] => {
        const out: ChatOutput[] = [];
        const text = renderer.push(event);
        const full = () => renderer.snapshot();
        // A failed run's view (its step `failed` with the reason) travels in the failure's own frame.
        if (event.type === 'run-failed')
          return [{ type: 'fail', error: new ApiError(500, 'run_failed', event.reason), text, full }];
        if (event.type === 'run-cancelled') return [{ type: 'fail', error: cancelled(), text, full }];
        if (text) out.push({ type: 'delta', text, full });
        if (event.type === 'run-done') out.push({ type: 'end', reason: 'stop', usage: event.usage });
        return out;
      }),
    );
  }

  /** chat_normal: one LLM call with the conversation's history, streamed as it comes. */
  private chatOutputs(
    ctx: RunContext,
    history: { user: string; assistant: string }[],
    kb?: KnowledgeChatTurn,
  ): Observable<ChatOutput> {
    const { request, recorder, signal, llm } = ctx;
    const system = [
      ...(kb ? [{ role: 'system' as const, content: kb.system }] : []),
      ...request.messages.filter((m) => m.role === 'system'),
    ];
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
            // chat_knowledge: the references follow the answer, as DB-GPT shows them.
            if (kb?.suffix) out.push({ type: 'delta', text: kb.suffix, full: (text += kb.suffix) });
            recorder.message({
              round: 1,
              stepNum: null,
              sender: 'assistant',
              receiver: 'Human',
              model,
              content: text,
              success: true,
              usage: part.usage,
              resource: kb?.references,
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
            recorder.end({
              state: aborted ? 'cancelled' : 'failed',
              error: aborted ? abortReason(signal, part.error.message) : part.error.message,
              model,
            });
            const error = aborted ? cancelled() : llmErrorToApi(part.error);
            // Before any text the answer can still carry the real HTTP status.
            if (!text) throw error;
            const note = failureNote(error.message, text);
            out.push({ type: 'fail', error, text: note, full: text + note });
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
      const batches = partBatches(llm.stream(call))[Symbol.asyncIterator]();
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
        void endIterator(batches).catch(() => undefined);
      };
    });
  }
}
