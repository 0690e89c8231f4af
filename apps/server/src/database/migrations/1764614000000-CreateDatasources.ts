import { MigrationInterface, QueryRunner } from 'typeorm';

/** Datasources: connections to the databases agents query read-only; passwords encrypted. */
export class CreateDatasources1764614000000 implements MigrationInterface {
  name = 'CreateDatasources1764614000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE datasources (
        id          serial NOT NULL,
        db_type     varchar(32) NOT NULL,
        db_name     varchar(255) NOT NULL,
        db_path     text NOT NULL DEFAULT '',
        db_host     varchar(255) NOT NULL DEFAULT '',
        db_port     integer NOT NULL DEFAULT 0,
        db_user     varchar(255) NOT NULL DEFAULT '',
        db_pwd_enc  text,
        comment     text NOT NULL DEFAULT '',
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        schema_read_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT datasources_pkey PRIMARY KEY (id),
        CONSTRAINT datasources_db_name_key UNIQUE (db_name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE datasources`);
  }
}
