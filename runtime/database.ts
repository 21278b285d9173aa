// The database: PostgreSQL when DATABASE_URL is set, else PGlite in the data dir served over the PostgreSQL protocol.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { createPool, migrate, type Db } from '../store/db.js';
import { databaseUrlOf, type Config } from './config.js';
import { assertPortFree, describeListenError } from './ports.js';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/** Opens PGlite in `<data>/pglite` and serves it on LISTFLOW_PGLITE_LISTEN so `pg` (and the CLI) can connect. */
export async function startEmbeddedPostgres(config: Config): Promise<EmbeddedPostgres> {
  const { host, port } = config.pgliteListen;
  await assertPortFree(host, port, 'the embedded database (PGlite)', 'LISTFLOW_PGLITE_LISTEN, or set DATABASE_URL');
  const dir = path.join(config.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  // PGlite is one connection; the socket server multiplexes clients onto it, keeping transactions whole.
  const server = new PGLiteSocketServer({ db, host, port, maxConnections: 64 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw describeListenError(err as NodeJS.ErrnoException, host, port, 'the embedded database (PGlite)', 'LISTFLOW_PGLITE_LISTEN, or set DATABASE_URL');
  }
  return {
    url: databaseUrlOf(config),
    async stop() {
      await server.stop();
      await db.close();
    },
  };
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
          : `cannot reach listflow's embedded database on ${config.pgliteListen.host}:${config.pgliteListen.port}: start listflow (npm start) or set DATABASE_URL`,
      );
    }
    throw err;
  }
  return db;
}
