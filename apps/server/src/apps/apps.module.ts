import { Module } from '@nestjs/common';
import { KnowledgeModule } from '../knowledge/knowledge.module';
import { AppsController } from './apps.controller';
import { AppsService } from './apps.service';

/** The Apps module: app definitions, their agents and per-user collections. Exports only its service. */
@Module({
  imports: [KnowledgeModule],
  controllers: [AppsController],
  providers: [AppsService],
  exports: [AppsService],
})
export class AppsModule {}
