import { MigrationInterface, QueryRunner } from 'typeorm';

/** Keys as data (only the SHA-256 of each secret is stored) and the audit log of admin changes. */
export class CreateKeys1764650000000 implements MigrationInterface {
  name = 'CreateKeys1764650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id            uuid NOT NULL,
        name          varchar(200) NOT NULL,
        prefix        varchar(32) NOT NULL,
        secret_hash   char(64) NOT NULL,
        scopes        text[] NOT NULL,
        app_codes     text[],
        created_by    varchar(64) NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        last_used_at  timestamptz,
        expires_at    timestamptz,
        revoked_at    timestamptz,
        CONSTRAINT api_keys_pkey PRIMARY KEY (id),
        CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash),
        CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY['admin', 'chat']::text[] AND cardinality(scopes) > 0)
      )`);
    await q.query(`
      CREATE TABLE audit_log (
        id      bigserial NOT NULL,
        at      timestamptz NOT NULL DEFAULT now(),
        key_id  varchar(64) NOT NULL,
        action  varchar(300) NOT NULL,
        target  text,
        CONSTRAINT audit_log_pkey PRIMARY KEY (id)
      )`);
    await q.query(`CREATE INDEX audit_log_key_idx ON audit_log (key_id, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
    await q.query(`DROP TABLE api_keys`);
  }
}
