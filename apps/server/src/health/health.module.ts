import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { ToolsModule } from '../tools/tools.module';

@Module({ imports: [TerminusModule.forRoot({ logger: false }), ToolsModule], controllers: [HealthController] })
export class HealthModule {}
