import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { KnowledgeModule } from '../knowledge/knowledge.module';
import { DatasourcesModule } from '../datasources/datasources.module';
import { ChatController } from './chat.controller';
import { ChatService } from './chat.service';
import { ModelsController } from './models.controller';
import { CancelBus } from './cancel-bus';
import { DataChat } from './data-chat';
import { RunRegistry } from './run-registry';
import { ToolsModule } from '../tools/tools.module';
import { RunStreamsModule } from '../run-streams/run-streams.module';

/** The Chat module: POST /api/v2/chat/completions (SSE or JSON), cancel, and the models list. */
@Module({
  imports: [AppsModule, ConversationsModule, ToolsModule, KnowledgeModule, DatasourcesModule, RunStreamsModule],
  controllers: [ChatController, ModelsController],
  providers: [ChatService, RunRegistry, CancelBus, DataChat],
  exports: [ChatService],
})
export class ChatModule {}
