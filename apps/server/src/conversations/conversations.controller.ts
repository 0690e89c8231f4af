import { Controller, Delete, Get, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { principalOf, viewerOf } from '../auth/principal';
import { RequireScope } from '../auth/scope.decorator';
import { ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../common/page.query';
import { ApiErrors, ApiResult } from '../common/api-docs';
import { ok, Result } from '../common/result';
import type { ConversationListView, ConversationView } from './conversation.types';
import { ConversationsService } from './conversations.service';
import { ConversationListResponse, ConversationResponse } from './dto/conversation.response';

export class ListConversationsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Only conversations of this app.' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  app_code?: string;

  @ApiPropertyOptional({ description: 'Only conversations of this user (`user_name` of the chat request).' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  user_name?: string;

  @ApiPropertyOptional({ description: 'Admin keys only: the conversations started with this key id.' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  key_id?: string;
}

/** Stored runs: a key's conversations (every one for admin keys), one conversation's turns, deletion. */
@ApiTags('conversations')
@Controller('v2/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Get()
  @RequireScope('chat')
  @ApiOperation({ summary: 'List conversations (newest first), by app and user' })
  @ApiResult(ConversationListResponse)
  @ApiErrors(400)
  async list(@Query() q: ListConversationsQuery, @Req() req: Request): Promise<Result<ConversationListView>> {
    return ok(await this.conversations.list(q, viewerOf(principalOf(req))));
  }

  @Get(':conv_uid')
  @RequireScope('chat')
  @ApiOperation({ summary: 'One conversation: its turns, their messages and plan steps' })
  @ApiResult(ConversationResponse)
  @ApiErrors(404)
  async get(@Param('conv_uid') convUid: string, @Req() req: Request): Promise<Result<ConversationView>> {
    return ok(await this.conversations.get(convUid, viewerOf(principalOf(req))));
  }

  @Delete(':conv_uid')
  @RequireScope('chat')
  @ApiOperation({ summary: 'Delete a conversation and everything stored of it' })
  @ApiResult([])
  @ApiErrors(404, 409)
  async remove(@Param('conv_uid') convUid: string, @Req() req: Request): Promise<Result<never[]>> {
    await this.conversations.remove(convUid, viewerOf(principalOf(req)));
    return ok([]);
  }
}
