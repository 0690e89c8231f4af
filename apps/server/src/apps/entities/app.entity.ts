import { Column, CreateDateColumn, Entity, OneToMany, PrimaryColumn, Unique, UpdateDateColumn } from 'typeorm';
import { AppDetailEntity } from './app-detail.entity';

/** An app: a team mode and its agents (details). Table `apps`. */
@Entity('apps')
@Unique('apps_app_name_key', ['appName'])
export class AppEntity {
  @PrimaryColumn({ name: 'app_code', type: 'varchar', length: 255, primaryKeyConstraintName: 'apps_pkey' })
  appCode: string;

  @Column({ name: 'app_name', type: 'varchar', length: 255 })
  appName: string;

  @Column({ name: 'app_describe', type: 'text', default: '' })
  appDescribe: string;

  @Column({ name: 'team_mode', type: 'varchar', length: 32 })
  teamMode: string;

  @Column({ type: 'varchar', length: 16, default: 'en' })
  language: string;

  /** A string or an object, stored as JSON so both round-trip. */
  @Column({ name: 'team_context', type: 'jsonb', nullable: true })
  teamContext: string | Record<string, unknown> | null;

  @Column({ name: 'user_code', type: 'varchar', length: 255, nullable: true })
  userCode: string | null;

  @Column({ name: 'sys_code', type: 'varchar', length: 255, nullable: true })
  sysCode: string | null;

  @Column({ type: 'text', nullable: true })
  icon: string | null;

  @Column({ type: 'boolean', default: false })
  published: boolean;

  @Column({ name: 'param_need', type: 'jsonb', default: () => "'[]'::jsonb" })
  paramNeed: unknown[];

  @Column({ name: 'recommend_questions', type: 'jsonb', default: () => "'[]'::jsonb" })
  recommendQuestions: unknown[];

  @Column({ type: 'jsonb', default: () => "'[]'::jsonb" })
  admins: string[];

  @Column({ name: 'keep_start_rounds', type: 'int', default: 0 })
  keepStartRounds: number;

  @Column({ name: 'keep_end_rounds', type: 'int', default: 0 })
  keepEndRounds: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @OneToMany(() => AppDetailEntity, (d) => d.app)
  details: AppDetailEntity[];
}
