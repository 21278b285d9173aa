// A throwaway database on a PostgreSQL server, migrated, for tests and benchmarks; drop() removes it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool, migrate, type Db } from './db.js';

export interface ScratchDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

async function admin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates `<prefix>_<random>` on the server `adminUrl` names and brings it up to the current schema. */
export async function createScratchDatabase(adminUrl: string, prefix: string, poolSize: number): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createPool(url.toString(), poolSize);
  await migrate(db);
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.end();
      await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
