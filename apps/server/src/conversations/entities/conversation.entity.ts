import { Column, Entity, PrimaryColumn } from 'typeorm';

export type RunState = 'running' | 'complete' | 'failed' | 'cancelled';

/** A conversation (`conv_uid`): its latest state and how many turns it has. */
@Entity('conversations')
export class ConversationEntity {
  @PrimaryColumn({ name: 'conv_uid', type: 'varchar', length: 255 })
  convUid: string;

  @Column({ name: 'chat_mode', type: 'varchar', length: 32 })
  chatMode: string;

  @Column({ name: 'app_code', type: 'varchar', length: 255, nullable: true })
  appCode: string | null;

  @Column({ name: 'user_name', type: 'varchar', length: 255, nullable: true })
  userName: string | null;

  @Column({ name: 'sys_code', type: 'varchar', length: 255, nullable: true })
  sysCode: string | null;

  /** The key that started it (null: stored before conversations had owners; admins only). */
  @Column({ name: 'owner_key', type: 'varchar', length: 64, nullable: true })
  ownerKey: string | null;

  /** The first input, for lists. */
  @Column({ type: 'text', default: '' })
  title: string;

  @Column({ type: 'varchar', length: 16 })
  state: RunState;

  @Column({ type: 'int', default: 0 })
  turns: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
