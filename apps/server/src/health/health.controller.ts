import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/public.decorator';
import { migrationsApplied } from '../database/data-source';
import { ToolsService } from '../tools/tools.service';

/** Liveness and readiness, open to probes (no API key). */
@ApiTags('health')
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
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: database reachable and migrations applied (tool servers reported)' })
  @HealthCheck()
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
