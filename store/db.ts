// PostgreSQL connections and the plain-SQL migrations that shape the schema.
import { readdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export type Db = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

export const MIGRATIONS_DIR = new URL('../../store/migrations/', import.meta.url);

/**
 * Every database call is bounded: the server cancels a statement after STATEMENT_TIMEOUT_MS (and a session
 * idle inside a transaction, or waiting for a lock, after its own limit), and the client gives up on an
 * answer that never comes after QUERY_TIMEOUT_MS, dropping that connection. A call that hangs fails its
 * activity, which is retried, instead of wedging a worker (seen: a ledger writer stuck for ever on one query).
 * The slowest ordinary statement is the ledger snapshot of a 100,000-member list (1.5–2.6 s).
 */
export const DB_TIMEOUTS = {
  statementMs: 60_000,
  lockMs: 30_000,
  idleInTransactionMs: 60_000,
  queryMs: 75_000,
  connectMs: 10_000,
};

export function createPool(connectionString: string, max = 10, timeouts: typeof DB_TIMEOUTS = DB_TIMEOUTS): Db {
  const pool = new pg.Pool({
    connectionString,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    lock_timeout: timeouts.lockMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
    query_timeout: timeouts.queryMs,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/**
 * Gives a client back to its pool; after an error that is not PostgreSQL's own answer (a client-side
 * timeout, a broken connection) the connection is closed instead, so no half-finished query is reused.
 */
export function release(client: pg.PoolClient, err?: unknown): void {
  const code = (err as { code?: unknown } | undefined)?.code;
  const fromServer = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
  client.release(err === undefined || fromServer ? undefined : err instanceof Error ? err : new Error(String(err)));
}

/** Runs `fn` inside a transaction, committing on success and rolling back on any error. */
export async function transaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let failure: unknown;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    failure = err;
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    release(client, failure);
  }
}

/** Applies every migration not yet applied, in file-name order, each in its own transaction. */
export async function migrate(db: Db): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const applied: string[] = [];
  await transaction(db, async (client) => {
    // One migrator at a time across hosts; the lock ends with the transaction. A migration may build an index
    // on a large table: no statement limit here.
    await client.query('SELECT pg_advisory_xact_lock(7451001)');
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SET LOCAL lock_timeout = 0');
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
      await client.query(sql);
      await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      applied.push(file);
    }
    await client.query(`INSERT INTO site (key, value) VALUES ('secret', $1) ON CONFLICT (key) DO NOTHING`, [
      randomBytes(32).toString('hex'),
    ]);
  });
  return applied;
}

/** The site secret that signs tokens; made once by the first migration run. */
export async function siteSecret(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ value: string }>(`SELECT value FROM site WHERE key = 'secret'`);
  if (!rows[0]) throw new Error('the database has no site secret: run the migrations first');
  return rows[0].value;
}
