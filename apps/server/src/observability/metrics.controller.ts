import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Registry } from 'prom-client';
import { Public } from '../auth/public.decorator';
import { ApiErrors } from '../common/api-docs';
import { MetricsService } from './metrics.service';

/** `GET /api/metrics`; never rate limited. */
@Injectable()
@ApiTags('metrics')
@SkipThrottle()
abstract class MetricsEndpoint {
  constructor(private readonly metrics: MetricsService) {}

  @Get('metrics')
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    description:
      'HTTP requests and durations by route and status, open SSE streams, chat runs, LLM call latency, time to first token, ' +
      "tokens by model, Ensemble's own overhead per request, and the process's default metrics. " +
      'Needs the API key unless METRICS_PUBLIC=true.',
  })
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'Prometheus text', schema: { type: 'string' } })
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.metrics();
  }
}

/** The default: metrics need `Authorization: Bearer <key>` like every other route. */
@ApiErrors()
@Controller()
export class MetricsController extends MetricsEndpoint {}

/** With METRICS_PUBLIC=true: open to a scraper without a key (keep the port off the internet). */
@Public()
@Controller()
export class PublicMetricsController extends MetricsEndpoint {}
