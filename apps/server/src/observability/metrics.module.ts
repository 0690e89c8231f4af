import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { MetricsController, PublicMetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/**
 * Serves `GET /api/metrics` and provides `MetricsService` to every module
 * (global), so the chat module can inject it without importing this module.
 */
@Module({})
export class MetricsModule {
  static forRoot(config: Pick<AppConfig, 'metricsPublic'>): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      providers: [MetricsService],
      controllers: [config.metricsPublic ? PublicMetricsController : MetricsController],
      exports: [MetricsService],
    };
  }
}
