/**
 * Real databases for datasource tests, each created for one spec file and
 * dropped after it: a Postgres database and a MariaDB database on the local
 * servers, and a SQLite file. Each holds the same small sales schema plus
 * `nums` (10 000 rows) and `thousand` (1 000 rows), whose cross join is
 * 10 million rows.
 */
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { databaseUrl, withAdmin } from './pg';

export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root' };

export interface PgTarget {
  name: string;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  drop(): Promise<void>;
}

export interface MariaTarget {
  name: string;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  drop(): Promise<void>;
}

const suffix = () => randomBytes(4).toString('hex');

const PG_SEED = [
  `CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, region text NOT NULL)`,
  `COMMENT ON TABLE customers IS 'People who buy'`,
  `COMMENT ON COLUMN customers.region IS 'Sales region'`,
  `CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id),
     amount numeric(12,2) NOT NULL, ordered_at timestamp NOT NULL, big bigint NOT NULL DEFAULT 9007199254740993)`,
  `INSERT INTO customers VALUES (1, 'Ada', 'EU'), (2, 'Bob', 'US'), (3, 'Chen', 'APAC')`,
  `INSERT INTO orders (id, customer_id, amount, ordered_at) VALUES
     (1, 1, 10.50, '2024-01-05 10:00:00'), (2, 1, 20.00, '2024-02-01 09:30:00'),
     (3, 2, 12.25, '2024-02-03 12:00:00'), (4, 3, 99.99, '2024-03-01 00:00:00')`,
  `CREATE SEQUENCE order_seq`,
  `CREATE TABLE nums (n integer)`,
  `INSERT INTO nums SELECT g FROM generate_series(1, 10000) g`,
  `CREATE TABLE thousand (n integer)`,
  `INSERT INTO thousand SELECT g FROM generate_series(1, 1000) g`,
];

export async function createPgTarget(): Promise<PgTarget> {
  const name = `ds_pg_${suffix()}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const client = new Client({ connectionString: databaseUrl(name) });
  await client.connect();
  for (const sql of PG_SEED) await client.query(sql);
  return {
    name,
    query: async <T>(sql: string) => (await client.query(sql)).rows as T[],
    drop: async () => {
      await client.end();
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

const MARIA_SEED = [
  `CREATE TABLE customers (id int PRIMARY KEY, name varchar(64) NOT NULL, region varchar(16) NOT NULL COMMENT 'Sales region') COMMENT 'People who buy'`,
  `CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, amount decimal(12,2) NOT NULL,
     ordered_at datetime NOT NULL, big bigint NOT NULL DEFAULT 9007199254740993,
     FOREIGN KEY (customer_id) REFERENCES customers(id))`,
  `INSERT INTO customers VALUES (1, 'Ada', 'EU'), (2, 'Bob', 'US'), (3, 'Chen', 'APAC')`,
  `INSERT INTO orders (id, customer_id, amount, ordered_at) VALUES
     (1, 1, 10.50, '2024-01-05 10:00:00'), (2, 1, 20.00, '2024-02-01 09:30:00'),
     (3, 2, 12.25, '2024-02-03 12:00:00'), (4, 3, 99.99, '2024-03-01 00:00:00')`,
  `CREATE SEQUENCE order_seq`,
  `CREATE TABLE nums (n int)`,
  `INSERT INTO nums SELECT seq FROM seq_1_to_10000`,
  `CREATE TABLE thousand (n int)`,
  `INSERT INTO thousand SELECT seq FROM seq_1_to_1000`,
];

export async function createMariaTarget(): Promise<MariaTarget> {
  const name = `ds_my_${suffix()}`;
  const admin = await createConnection(MARIADB);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.query(`USE ${name}`);
  for (const sql of MARIA_SEED) await admin.query(sql);
  return {
    name,
    query: async <T>(sql: string) => (await admin.query(sql))[0] as T[],
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    },
  };
}

/** A SQLite file `<dir>/<file>` with the same schema. */
export function createSqliteTarget(dir: string, file = `sales_${suffix()}.db`): { path: string; file: string } {
  const path = join(dir, file);
  const db = new Database(path);
  db.exec(`
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
      amount REAL NOT NULL, ordered_at TEXT NOT NULL, big INTEGER NOT NULL DEFAULT 9007199254740993);
    INSERT INTO customers VALUES (1, 'Ada', 'EU'), (2, 'Bob', 'US'), (3, 'Chen', 'APAC');
    INSERT INTO orders (id, customer_id, amount, ordered_at) VALUES
      (1, 1, 10.5, '2024-01-05T10:00:00'), (2, 1, 20.0, '2024-02-01T09:30:00'),
      (3, 2, 12.25, '2024-02-03T12:00:00'), (4, 3, 99.99, '2024-03-01T00:00:00');
    CREATE TABLE nums (n INTEGER);
    WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 10000) INSERT INTO nums SELECT n FROM g;
    CREATE TABLE thousand (n INTEGER);
    INSERT INTO thousand SELECT n FROM nums WHERE n <= 1000;
  `);
  db.close();
  return { path, file };
}
