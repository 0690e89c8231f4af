import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import type { ConnectionState } from '../../tools/mcp-connection';
import { CONNECTION_STATES } from '../../tools/dto/tool.response';
import type { HealthCheckResult, HealthCheckStatus, HealthIndicatorStatus } from '@nestjs/terminus';

/** A declared tool server's state, as readiness reports it. */
export class ToolServerStateResponse {
  @ApiProperty({ enum: CONNECTION_STATES })
  state: ConnectionState;

  @ApiPropertyOptional({ description: 'Why the last connection attempt failed.' })
  error?: string;
}

/** One check: `database`, `migrations` or `tools`. */
export class HealthIndicatorResponse {
  @ApiProperty({ enum: ['up', 'down'] })
  status: HealthIndicatorStatus;

  @ApiPropertyOptional({ description: 'Why the check is down (e.g. "pending migrations").' })
  message?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(ToolServerStateResponse) },
    description: '`tools` only: each declared tool server by name.',
  })
  servers?: Record<string, ToolServerStateResponse>;
}

const INDICATORS = {
  type: 'object',
  additionalProperties: { $ref: getSchemaPath(HealthIndicatorResponse) },
} as const;

/** Terminus's health check body: the checks that are up (`info`), down (`error`, empty) and all of them (`details`). */
export class HealthResponse implements HealthCheckResult {
  @ApiProperty({ enum: ['ok'], description: 'A check that fails answers 503 with the error shape instead.' })
  status: HealthCheckStatus;

  @ApiPropertyOptional({ ...INDICATORS, description: 'The checks that are up.' })
  info?: Record<string, HealthIndicatorResponse>;

  @ApiPropertyOptional({ ...INDICATORS, description: 'The checks that are down.' })
  error?: Record<string, HealthIndicatorResponse>;

  @ApiProperty({ ...INDICATORS, description: 'Every check.' })
  details: Record<string, HealthIndicatorResponse>;
}
