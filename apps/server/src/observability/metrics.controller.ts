import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Registry } from 'prom-client';
import { ApiErrors } from '../common/api-docs';
import { MetricsService } from './metrics.service';

/** `GET /api/metrics`, behind the API key like every route; never rate limited. */
@ApiTags('metrics')
@SkipThrottle()
@ApiErrors()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('metrics')
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    description:
      'HTTP requests and durations by route and status, open SSE streams, chat runs, LLM call latency, time to first token, ' +
      "tokens by model, Ensemble's own overhead per request, and the process's default metrics. " +
      'Needs the API key; set METRICS_PORT for a key-less listener on a separate port.',
  })
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'Prometheus text', schema: { type: 'string' } })
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.metrics();
  }
}
