import { Body, Controller, HttpCode, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { principalOf, viewerOf } from '../auth/principal';
import { RequireScope } from '../auth/scope.decorator';
import { AppCodesGuard } from '../keys/app-codes.guard';
import { ApiErrors, resultSchema } from '../common/api-docs';
import { ok } from '../common/result';
import { APP_CONFIG, AppConfig } from '../config/config';
import { limitSubject } from '../limits';
import { sendChatRun } from './chat-response';
import { ChatService } from './chat.service';
import { CHAT_COMPLETION_SCHEMA, SSE_STREAM_SCHEMA } from './chat.schema';
import type { ChatRequest } from './chat-request';
import { ChatRequestPipe } from './chat-request.pipe';
import { ChatRequestDto } from './dto/chat-request.dto';

/** The endpoint internal services call (OpenAI chunk format over SSE, or one JSON answer). */
@ApiTags('chat')
@Controller('v2/chat/completions')
export class ChatController {
  constructor(
    private readonly chat: ChatService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @RequireScope('chat')
  @UseGuards(AppCodesGuard)
  @HttpCode(200)
  @ApiOperation({ summary: 'Chat with a model (chat_normal) or run an app (chat_app); SSE when stream is true' })
  @ApiBody({ type: ChatRequestDto })
  @ApiOkResponse({
    description: 'SSE of chat.completion.chunk objects then [DONE] (stream: true), or one chat.completion',
    content: {
      'text/event-stream': { schema: SSE_STREAM_SCHEMA },
      'application/json': { schema: CHAT_COMPLETION_SCHEMA },
    },
  })
  @ApiAcceptedResponse({
    description: 'background: true without stream: the run goes on; its state at once',
    schema: resultSchema({
      type: 'object',
      properties: { conv_uid: { type: 'string' }, status: { type: 'string', enum: ['running'] } },
    }),
  })
  @ApiErrors(400, 404, 409, 413, 429, 503)
  async completions(
    @Body(ChatRequestPipe) request: ChatRequest,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const caller = { viewer: viewerOf(principalOf(req)), limits: limitSubject(req) };
    // Also on an error answer: the client learns which conversation failed (validated: a header can carry it).
    const run = await this.chat.start(request, caller, (convUid) => res.setHeader('X-Conv-Uid', convUid));
    await sendChatRun(req, res, run, this.config);
  }

  @Post(':conv_uid/cancel')
  @RequireScope('chat')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel the run in progress of a conversation (aborts its LLM calls)' })
  @ApiOkResponse({
    schema: resultSchema({
      type: 'object',
      properties: { conv_uid: { type: 'string' }, cancelled: { type: 'boolean' } },
    }),
  })
  @ApiErrors(404)
  async cancel(@Param('conv_uid') convUid: string, @Req() req: Request) {
    return ok(await this.chat.cancel(convUid, viewerOf(principalOf(req))));
  }
}
