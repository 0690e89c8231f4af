import { Module } from '@nestjs/common';
import { ConversationsModule } from '../conversations/conversations.module';
import { RunFramesRepository } from './run-frames.repository';
import { RunStreamsController } from './run-streams.controller';
import { RunStreamsService } from './run-streams.service';

/** Durable runs: background runs' frames, resuming them, the latest run's state. Exports only its service. */
@Module({
  imports: [ConversationsModule],
  controllers: [RunStreamsController],
  providers: [RunFramesRepository, RunStreamsService],
  exports: [RunStreamsService],
})
export class RunStreamsModule {}
