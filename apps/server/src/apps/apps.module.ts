import { Module } from '@nestjs/common';
import { DatasourcesModule } from '../datasources/datasources.module';
import { AppsController } from './apps.controller';
import { AppsService } from './apps.service';

/** The Apps module: app definitions, their agents and per-user collections. Exports only its service. */
@Module({
  imports: [DatasourcesModule],
  controllers: [AppsController],
  providers: [AppsService],
  exports: [AppsService],
})
export class AppsModule {}
