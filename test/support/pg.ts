import { Client } from 'pg';

/** The Postgres the e2e tests use: an admin connection that may create databases. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL of database `name` on the same server. */
export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Template database name shared by one test run (set by global setup). */
export const templateName = () => {
  const name = process.env.ENSEMBLE_TEST_TEMPLATE;
  if (!name) throw new Error('ENSEMBLE_TEST_TEMPLATE is not set: run the e2e tests through jest (global setup).');
  return name;
};
