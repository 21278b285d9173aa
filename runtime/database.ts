// The database: PostgreSQL at DATABASE_URL, else a real PostgreSQL server run from the data dir.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createPool, migrate, type Db } from '../store/db.js';
import { databaseUrlOf, type Config } from './config.js';
import { launchPostgres } from './embedded-postgres.js';
import { migrateFromPglite, PGLITE_DIR } from './pglite-migration.js';
import { assertPortFree } from './ports.js';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL from `<data>/postgres` on LISTFLOW_POSTGRES_LISTEN, brings its schema up to date, and
 * moves over, once, a database an earlier listflow kept in PGlite (`<data>/pglite`, kept as it was).
 */
export async function startEmbeddedPostgres(config: Config, log: (line: string) => void = () => {}): Promise<EmbeddedPostgres> {
  const { host, port } = config.postgresListen;
  const setting = 'LISTFLOW_POSTGRES_LISTEN, or set DATABASE_URL';
  await assertPortFree(host, port, 'the embedded database (PostgreSQL)', setting);
  const server = await launchPostgres(config.dataDir, host, port, log);
  const url = databaseUrlOf(config);
  try {
    if (existsSync(path.join(config.dataDir, PGLITE_DIR))) {
      const db = createPool(url, 2);
      try {
        await migrate(db);
        await migrateFromPglite(config.dataDir, db, log);
      } finally {
        await db.end();
      }
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url, stop: () => server.stop() };
}

/** Connects to the configured database and brings its schema up to date. */
export async function openDatabase(config: Config, max = 10): Promise<Db> {
  const db = createPool(databaseUrlOf(config), max);
  try {
    await migrate(db);
  } catch (err) {
    await db.end().catch(() => {});
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ECONNREFUSED') {
      throw new Error(
        config.databaseUrl
          ? `cannot reach the database at DATABASE_URL (${e.message})`
          : `cannot reach listflow's embedded database on ${config.postgresListen.host}:${config.postgresListen.port}: start listflow (npm start) or set DATABASE_URL`,
      );
    }
    throw err;
  }
  return db;
}
