import { DynamicModule, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsListener } from './metrics.listener';
import { MetricsService } from './metrics.service';

/**
 * Serves `GET /api/metrics` (behind the API key, like every route), and on
 * METRICS_PORT when set a key-less listener for scrapers; provides
 * `MetricsService` to every module (global), so the chat module can inject
 * it without importing this module.
 */
@Module({})
export class MetricsModule {
  static forRoot(): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      providers: [MetricsService, MetricsListener],
      controllers: [MetricsController],
      exports: [MetricsService],
    };
  }
}
