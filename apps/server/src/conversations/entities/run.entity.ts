import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { RunState } from './conversation.entity';

/** One turn of a conversation: the user's input, the run that answered it, and how it ended. */
@Entity('conversation_runs')
export class RunEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'conv_uid', type: 'varchar', length: 255 })
  convUid: string;

  @Column({ type: 'int' })
  turn: number;

  @Column({ name: 'chat_mode', type: 'varchar', length: 32 })
  chatMode: string;

  @Column({ name: 'app_code', type: 'varchar', length: 255, nullable: true })
  appCode: string | null;

  @Column({ name: 'team_mode', type: 'varchar', length: 32, nullable: true })
  teamMode: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  model: string | null;

  @Column({ type: 'text' })
  input: string;

  @Column({ type: 'text', nullable: true })
  answer: string | null;

  @Column({ type: 'varchar', length: 16 })
  state: RunState;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ name: 'input_tokens', type: 'int', default: 0 })
  inputTokens: number;

  @Column({ name: 'output_tokens', type: 'int', default: 0 })
  outputTokens: number;

  /** The process that runs it; lets a restart tell a dead run from a live one. */
  @Column({ name: 'instance_id', type: 'varchar', length: 64 })
  instanceId: string;

  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' })
  startedAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
