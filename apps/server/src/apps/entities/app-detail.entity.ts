import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { AppResourceJson } from '../app.types';
import { AppEntity } from './app.entity';

/** One agent of an app, in order (`position`). Table `app_details`. */
@Entity('app_details')
@Index('app_details_app_code_position_key', ['appCode', 'position'], { unique: true })
export class AppDetailEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint' })
  id: string;

  @Column({ name: 'app_code', type: 'varchar', length: 255 })
  appCode: string;

  @ManyToOne(() => AppEntity, (a) => a.details, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'app_code', referencedColumnName: 'appCode' })
  app: AppEntity;

  @Column({ type: 'int' })
  position: number;

  @Column({ name: 'agent_name', type: 'varchar', length: 255 })
  agentName: string;

  @Column({ name: 'node_id', type: 'varchar', length: 255, nullable: true })
  nodeId: string | null;

  @Column({ type: 'jsonb', default: () => "'[]'::jsonb" })
  resources: AppResourceJson[];

  @Column({ name: 'prompt_template', type: 'text', nullable: true })
  promptTemplate: string | null;

  @Column({ name: 'llm_strategy', type: 'varchar', length: 32, default: 'default' })
  llmStrategy: string;

  /** Priority list as one comma-separated string, e.g. `chatgpt_proxyllm,gpt-4o`. */
  @Column({ name: 'llm_strategy_value', type: 'text', nullable: true })
  llmStrategyValue: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
