import { Controller, Get } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/public.decorator';
import { migrationsApplied } from '../database/data-source';
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
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tools: ToolsService,
  ) {}

  @Get('health')
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiOkResponse({ type: HealthResponse, description: 'Up' })
  @ApiServiceUnavailableResponse({ type: HealthResponse, description: 'Shutting down' })
  @HealthCheck(HEALTH_CHECK)
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: database reachable and migrations applied (tool servers reported)' })
  @ApiOkResponse({ type: HealthResponse, description: 'Ready' })
  @ApiServiceUnavailableResponse({
    type: HealthResponse,
    description: 'Not ready: `error` names the checks that are down',
  })
  @HealthCheck(HEALTH_CHECK)
  ready() {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 2000 }),
      async () => {
        const indicator = this.indicators.check('migrations');
        return (await migrationsApplied(this.dataSource))
          ? indicator.up()
          : indicator.down({ message: 'pending migrations' });
      },
      // Each declared tool server's state; one that cannot be reached is reported, not a reason to be unready.
      () => this.indicators.check('tools').up({ servers: this.tools.states() }),
    ]);
  }
}
