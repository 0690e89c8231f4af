import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One agent message of a run (written when the message is done, never per token). */
@Entity('conversation_messages')
export class MessageEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint' })
  id: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId: string;

  @Column({ type: 'int' })
  round: number;

  @Column({ name: 'step_num', type: 'int', nullable: true })
  stepNum: number | null;

  @Column({ type: 'varchar', length: 255 })
  sender: string;

  @Column({ type: 'varchar', length: 255 })
  receiver: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  model: string | null;

  @Column({ type: 'text' })
  content: string;

  @Column({ type: 'boolean' })
  success: boolean;

  @Column({ name: 'input_tokens', type: 'int', default: 0 })
  inputTokens: number;

  @Column({ name: 'output_tokens', type: 'int', default: 0 })
  outputTokens: number;

  /** What the message drew on (e.g. knowledge references), as shown in its vis `resource`. */
  @Column({ type: 'jsonb', nullable: true })
  resource: unknown;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
