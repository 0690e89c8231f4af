import { CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { AppEntity } from './app.entity';

/** A user's collected (favourite) app. Table `app_collections`. */
@Entity('app_collections')
export class AppCollectionEntity {
  @PrimaryColumn({ name: 'app_code', type: 'varchar', length: 255 })
  appCode: string;

  @PrimaryColumn({ name: 'user_code', type: 'varchar', length: 255 })
  userCode: string;

  @ManyToOne(() => AppEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'app_code', referencedColumnName: 'appCode' })
  app: AppEntity;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
