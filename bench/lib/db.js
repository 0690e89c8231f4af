'use strict';
/** A fresh database per benchmark on the local Postgres (or BENCH_DATABASE_URL / TEST_DATABASE_URL's server), dropped at the end. */
const { Client } = require('pg');

const ADMIN_URL =
  process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
let counter = 0;
const created = new Set();

function urlFor(name) {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin(sql) {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

async function createDatabase(tag) {
  const name = `ensemble_bench_${process.pid}_${tag}_${++counter}`;
  await admin(`CREATE DATABASE ${name}`);
  created.add(name);
  return {
    name,
    url: urlFor(name),
    async query(sql, params) {
      const c = new Client({ connectionString: urlFor(name) });
      await c.connect();
      try {
        return await c.query(sql, params);
      } finally {
        await c.end();
      }
    },
    drop: () => dropDatabase(name),
  };
}

async function dropDatabase(name) {
  if (!created.has(name)) return;
  created.delete(name);
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

async function dropAll() {
  for (const name of [...created]) await dropDatabase(name).catch(() => undefined);
}

/**
 * Flushes the server's dirty pages now (CHECKPOINT), so one benchmark does not
 * pay for the writes of the one before it (the databases differ, the server
 * is the same). Best effort: needs a superuser or pg_checkpoint; returns
 * whether it ran.
 */
async function checkpoint() {
  try {
    await admin('CHECKPOINT');
    return true;
  } catch {
    return false;
  }
}

/** Server settings that shape write cost (reported with the results). */
async function settings() {
  const r = await admin(
    `SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'synchronous_commit', 'fsync', 'max_connections', 'shared_buffers')`,
  );
  return Object.fromEntries(r.rows.map((x) => [x.name, x.setting]));
}

module.exports = { ADMIN_URL, checkpoint, createDatabase, dropAll, settings };
