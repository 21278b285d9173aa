// The embedded PostgreSQL as `npm start` runs it, in a data dir of the test's, on a fresh loopback port.
import { loadConfig, type Config } from '../../runtime/config.js';
import { openDatabase, startEmbeddedPostgres } from '../../runtime/database.js';
import { freePort } from '../../runtime/ports.js';
import type { Db } from '../../store/db.js';
import type { TestDatabase } from './db.js';

export type EmbeddedDatabase = TestDatabase & { config: Config };

/** Starts (initialising on first use) and opens the embedded server in `dataDir`; drop() stops it, keeping the data. */
export async function startEmbeddedDatabase(dataDir: string, poolSize = 20): Promise<EmbeddedDatabase> {
  const config = loadConfig({ LISTFLOW_DATA_DIR: dataDir, LISTFLOW_POSTGRES_LISTEN: `127.0.0.1:${await freePort()}` });
  const embedded = await startEmbeddedPostgres(config);
  let db: Db;
  try {
    db = await openDatabase(config, poolSize);
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return {
    config,
    url: embedded.url,
    db,
    async drop() {
      // "drop" here means stop: the data dir is the point of the test and outlives the server.
      await db.end();
      await embedded.stop();
    },
  };
}
