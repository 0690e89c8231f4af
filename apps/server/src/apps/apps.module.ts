import { Module } from '@nestjs/common';
import { AppsController } from './apps.controller';
import { AppsService } from './apps.service';
import { ToolsModule } from '../tools/tools.module';

/** The Apps module: app definitions, their agents and per-user collections. Exports only its service. */
@Module({
  imports: [ToolsModule],
  controllers: [AppsController],
  providers: [AppsService],
  exports: [AppsService],
})
export class AppsModule {}
