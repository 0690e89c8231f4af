import { Module } from '@nestjs/common';
import { KnowledgeModule } from '../knowledge/knowledge.module';
import { DatasourcesModule } from '../datasources/datasources.module';
import { AppsController } from './apps.controller';
import { AppsRepository } from './apps.repository';
import { AppsService } from './apps.service';
import { AppResourceChecks } from './resource-checks';
import { ToolsModule } from '../tools/tools.module';

/** The Apps module: app definitions, their agents and per-user collections. Exports only its service. */
@Module({
  imports: [ToolsModule, KnowledgeModule, DatasourcesModule],
  controllers: [AppsController],
  providers: [AppsRepository, AppResourceChecks, AppsService],
  exports: [AppsService],
})
export class AppsModule {}
