import { Column, Entity, PrimaryColumn } from 'typeorm';

export type StepRowState = 'todo' | 'running' | 'complete' | 'failed';

/** One step of a run's plan. */
@Entity('conversation_plan_steps')
export class PlanStepEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId: string;

  @PrimaryColumn({ type: 'int' })
  num: number;

  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'varchar', length: 255 })
  agent: string;

  @Column({ type: 'int', array: true, default: () => "'{}'" })
  rely: number[];

  @Column({ type: 'varchar', length: 16 })
  state: StepRowState;

  @Column({ type: 'int', default: 0 })
  retries: number;

  @Column({ type: 'text', nullable: true })
  result: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
