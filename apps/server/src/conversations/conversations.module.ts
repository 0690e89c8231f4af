import { Module } from '@nestjs/common';
import { ConversationsController } from './conversations.controller';
import { ConversationsService } from './conversations.service';
import { InstanceLock } from './instance-lock';
import { RunsRepository } from './runs.repository';

/** Stored runs and their history routes. Exports its service and the instance lock (whose process is alive). */
@Module({
  controllers: [ConversationsController],
  providers: [ConversationsService, RunsRepository, InstanceLock],
  exports: [ConversationsService, InstanceLock],
})
export class ConversationsModule {}
