import { Controller, Get } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';
import { ERROR_SCHEMA } from '../common/api-docs';
import { DatabaseHealth } from '../database/database-health';
import { ToolsService } from '../tools/tools.service';
import { HealthIndicatorResponse, HealthResponse, ToolServerStateResponse } from './dto/health.response';

/** Terminus's no-cache header, with our own response documentation instead of its schemas. */
const HEALTH_CHECK = { noCache: true, swaggerDocumentation: false };

/** Liveness and readiness, open to probes (no API key). */
@ApiTags('health')
@ApiExtraModels(HealthIndicatorResponse, ToolServerStateResponse)
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseHealth,
    private readonly tools: ToolsService,
  ) {}

  @Get('health')
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiOkResponse({ type: HealthResponse, description: 'Up' })
  @ApiResponse({ status: 503, description: 'Shutting down (error `internal_error`)', schema: ERROR_SCHEMA })
  @HealthCheck(HEALTH_CHECK)
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: database reachable and migrations applied (tool servers reported)' })
  @ApiOkResponse({ type: HealthResponse, description: 'Ready' })
  @ApiResponse({
    status: 503,
    description:
      'Not ready: the database unreachable (error `database_unavailable`, with Retry-After) or migrations pending (`internal_error`)',
    schema: ERROR_SCHEMA,
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
  })
  @HealthCheck(HEALTH_CHECK)
  async ready() {
    // Unreachable or too slow: the error filter answers 503 `database_unavailable` with Retry-After.
    await this.database.ping(2000);
    return this.health.check([
      () => this.indicators.check('database').up(),
      async () => {
        const indicator = this.indicators.check('migrations');
        return (await this.database.migrationsApplied())
          ? indicator.up()
          : indicator.down({ message: 'pending migrations' });
      },
      // Each declared tool server's state; one that cannot be reached is reported, not a reason to be unready.
      () => this.indicators.check('tools').up({ servers: this.tools.states() }),
    ]);
  }
}
