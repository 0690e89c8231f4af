import { Controller, Get, Headers, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import type { Request, Response } from 'express';
import { principalOf, viewerOf } from '../auth/principal';
import { RequireScope } from '../auth/scope.decorator';
import { ApiErrors, resultSchema } from '../common/api-docs';
import { ApiError } from '../common/api-error';
import { ok } from '../common/result';
import { APP_CONFIG, AppConfig } from '../config/config';
import { SSE_STREAM_SCHEMA } from '../chat/chat.schema';
import { sendChatRun } from '../chat/chat-response';
import { followingRun } from '../chat/chat-run';
import { RunStreamsService } from './run-streams.service';

/** The largest frame number a client can name. */
const MAX_SEQ = 2_000_000_000;

const toDecimal = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;

export class ResumeQuery {
  @ApiPropertyOptional({
    minimum: 0,
    description: 'Replay the frames after this one (what `Last-Event-ID` says; the header wins when both are given).',
  })
  @IsOptional()
  @Max(MAX_SEQ)
  @Min(0)
  @IsInt({ message: 'after must be a whole number written in decimal digits' })
  @Transform(toDecimal)
  after?: number;
}

/** `Last-Event-ID` as a frame number; 400 naming the header when it is not one. */
function lastEventId(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (!/^\d{1,10}$/.test(value) || Number(value) > MAX_SEQ)
    throw ApiError.badRequest(
      'validation_error',
      'Last-Event-ID must be the number of a frame (the `id:` line of the last frame received).',
      'Last-Event-ID',
    );
  return Number(value);
}

const STATUS_SCHEMA = resultSchema({
  type: 'object',
  properties: {
    conv_uid: { type: 'string' },
    run_id: { type: 'string', format: 'uuid' },
    turn: { type: 'integer' },
    state: { type: 'string', enum: ['running', 'complete', 'failed', 'cancelled'] },
    background: { type: 'boolean', description: 'Started with "background": true (its stream can be resumed).' },
    started_at: { type: 'string', format: 'date-time' },
    ended_at: { type: 'string', format: 'date-time', nullable: true },
    usage: {
      type: 'object',
      properties: {
        prompt_tokens: { type: 'integer' },
        completion_tokens: { type: 'integer' },
        total_tokens: { type: 'integer' },
      },
    },
    content: { type: 'string', nullable: true, description: 'The final answer, once the run ended.' },
    error: { type: 'string', nullable: true },
    last_event_id: {
      type: 'integer',
      nullable: true,
      description: 'Background runs: the number of the last frame stored so far.',
    },
  },
});

/** Durable runs (SPEC §10): resume a background run's stream on any replica; a conversation's latest run state. */
@ApiTags('chat')
@Controller('v2/chat/completions')
export class RunStreamsController {
  constructor(
    private readonly streams: RunStreamsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get(':conv_uid/stream')
  @RequireScope('chat')
  @ApiOperation({
    summary: 'Resume the stream of the latest (background) run of a conversation',
    description:
      'Replays the frames after `Last-Event-ID` (or `?after=n`; from the start with neither), then follows the run ' +
      'live to `[DONE]`; a finished run replays and ends. Frames carry `id:` lines.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The `id:` of the last frame received.' })
  @ApiOkResponse({
    description: 'SSE: `id: n` + `data: <chat.completion.chunk>` frames, then `[DONE]`',
    content: { 'text/event-stream': { schema: SSE_STREAM_SCHEMA } },
  })
  @ApiErrors(400, 404)
  async resume(
    @Param('conv_uid') convUid: string,
    @Query() query: ResumeQuery,
    @Headers('last-event-id') header: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const after = lastEventId(header) ?? query.after ?? 0;
    const viewer = viewerOf(principalOf(req));
    const run = await followingRun(
      convUid,
      (signal, gate) => this.streams.resume(convUid, viewer, after, signal, gate),
      true,
    );
    await sendChatRun(req, res, run, this.config);
  }

  @Get(':conv_uid')
  @RequireScope('chat')
  @ApiOperation({ summary: 'State of the latest run of a conversation (running, complete, failed, cancelled)' })
  @ApiOkResponse({ schema: STATUS_SCHEMA })
  @ApiErrors(404)
  async status(@Param('conv_uid') convUid: string, @Req() req: Request) {
    return ok(await this.streams.status(convUid, viewerOf(principalOf(req))));
  }
}
