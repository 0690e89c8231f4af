import { Controller, Delete, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../common/page.query';
import { ApiErrors, resultSchema } from '../common/api-docs';
import { ok } from '../common/result';
import { ConversationsService } from './conversations.service';

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
}

/** Stored runs: a user's conversations, one conversation's turns, deletion. */
@ApiTags('conversations')
@Controller('v2/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Get()
  @ApiOperation({ summary: 'List conversations (newest first), by app and user' })
  @ApiOkResponse({ schema: resultSchema({ type: 'object' }) })
  @ApiErrors(400)
  async list(@Query() q: ListConversationsQuery) {
    return ok(await this.conversations.list(q));
  }

  @Get(':conv_uid')
  @ApiOperation({ summary: 'One conversation: its turns, their messages and plan steps' })
  @ApiOkResponse({ schema: resultSchema({ type: 'object' }) })
  @ApiErrors(404)
  async get(@Param('conv_uid') convUid: string) {
    return ok(await this.conversations.get(convUid));
  }

  @Delete(':conv_uid')
  @ApiOperation({ summary: 'Delete a conversation and everything stored of it' })
  @ApiOkResponse({ schema: resultSchema({ type: 'array', maxItems: 0 }) })
  @ApiErrors(404, 409)
  async remove(@Param('conv_uid') convUid: string) {
    await this.conversations.remove(convUid);
    return ok([]);
  }
}
