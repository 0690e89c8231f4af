import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { unionMembers } from '../../common/api-docs';
import type { ConnectionState } from '../mcp-connection';
import { TOOL_TRANSPORTS } from '../tools-config';
import type { ToolServerView, ToolView } from '../tools.types';

/** Every state of a tool server's connection, for the documents. */
export const CONNECTION_STATES = unionMembers<ConnectionState>({
  idle: true,
  connecting: true,
  connected: true,
  unreachable: true,
});

export class ToolResponse implements ToolView {
  @ApiProperty({ example: 'add' })
  name: string;

  @ApiProperty({ example: 'Adds two numbers.' })
  description: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: "JSON Schema of the tool's arguments." })
  input_schema: Record<string, unknown>;
}

export class ToolServerResponse implements ToolServerView {
  @ApiProperty({ example: 'calc', description: 'The name in the tools file; what a tool(mcp) resource names.' })
  name: string;

  @ApiProperty({ enum: TOOL_TRANSPORTS })
  transport: string;

  @ApiProperty({ enum: CONNECTION_STATES })
  state: ConnectionState;

  @ApiPropertyOptional({ description: 'Why the last connection attempt failed.' })
  error?: string;

  @ApiProperty({ type: 'integer', description: 'Per-call timeout.' })
  timeout_ms: number;

  @ApiProperty({ type: [ToolResponse], description: "The tools offered (the file's allow-list applied)." })
  tools: ToolView[];
}
