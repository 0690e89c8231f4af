import { Module } from '@nestjs/common';
import { DatasourcesController } from './datasources.controller';
import { DatasourcesRepository } from './datasources.repository';
import { DatasourcesService } from './datasources.service';

/** Datasources: DB-GPT's admin routes, sealed passwords, schemas, the read-only query runner. Exports only its service. */
@Module({
  controllers: [DatasourcesController],
  providers: [DatasourcesRepository, DatasourcesService],
  exports: [DatasourcesService],
})
export class DatasourcesModule {}
