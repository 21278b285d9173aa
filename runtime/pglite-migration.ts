// Moving an earlier listflow's PGlite database (`<data>/pglite`) into the embedded PostgreSQL, once.
//
// listflow's embedded database was PGlite behind a socket server until that server was found to mix up
// concurrent connections' statements. A data dir from then holds every list, member and held post in
// `<data>/pglite`: starting empty would silently lose them. So on the first start with PostgreSQL, every row
// is copied over in one transaction (schema first brought to the same migration on both sides), the site
// secret included so mailed tokens keep working, and the old folder is renamed `pglite.migrated`, kept.
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { MIGRATIONS_DIR, release, type Db } from '../store/db.js';

export const PGLITE_DIR = 'pglite';
const MIGRATED_MARK = 'migrated_from_pglite';
/** Rows per round trip; raw messages may be megabytes each, so a small batch keeps memory bounded. */
const BATCH = 50;

interface PgliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
  close(): Promise<void>;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Brings the PGlite database to the migration PostgreSQL is at, so both have the same tables and columns. */
async function catchUp(old: PgliteLike): Promise<void> {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();
  const done = new Set((await old.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
  for (const file of files) {
    if (done.has(file)) continue;
    await old.exec(`BEGIN; ${readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8')}; INSERT INTO schema_migrations (name) VALUES ('${file.replace(/'/g, "''")}'); COMMIT;`);
  }
}

async function copyTable(old: PgliteLike, client: pg.PoolClient, table: string): Promise<number> {
  const { rows: columns } = await old.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`,
    [table],
  );
  const cols = columns.map((c) => quoteIdent(c.column_name)).join(', ');
  const t = quoteIdent(table);
  let copied = 0;
  for (let offset = 0; ; offset += BATCH) {
    const { rows } = await old.query<{ j: string }>(`SELECT row_to_json(x)::text AS j FROM (SELECT ${cols} FROM ${t} ORDER BY ctid LIMIT ${BATCH} OFFSET ${offset}) x`);
    if (rows.length === 0) return copied;
    await client.query(
      `INSERT INTO ${t} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM json_populate_recordset(NULL::${t}, $1::json)`,
      [`[${rows.map((r) => r.j).join(',')}]`],
    );
    copied += rows.length;
  }
}

/** Sequences (serial and identity columns) continue after the highest copied value. */
async function resetSequences(client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ seq: string; tbl: string; col: string }>(
    `SELECT s.oid::regclass::text AS seq, t.oid::regclass::text AS tbl, a.attname AS col
       FROM pg_class s
       JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
       JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE s.relkind = 'S' AND n.nspname = 'public'`,
  );
  for (const r of rows) {
    await client.query(`SELECT setval($1::regclass, COALESCE((SELECT max(${quoteIdent(r.col)}) FROM ${r.tbl}), 0) + 1, false)`, [r.seq]);
  }
}

/**
 * Copies `<dataDir>/pglite` into `db` (already migrated) unless that was done before, then renames the old
 * folder. One transaction: a crash midway leaves PostgreSQL as it was and the copy starts again next time.
 */
export async function migrateFromPglite(dataDir: string, db: Db, log: (line: string) => void): Promise<void> {
  const dir = path.join(dataDir, PGLITE_DIR);
  const kept = path.join(dataDir, `${PGLITE_DIR}.migrated`);
  if (!existsSync(path.join(dir, 'PG_VERSION'))) return;
  const already = await db.query(`SELECT 1 FROM site WHERE key = $1`, [MIGRATED_MARK]);
  if (already.rowCount) {
    renameSync(dir, kept);
    return;
  }
  log(`moving the PGlite database of an earlier listflow (${dir}) into PostgreSQL…`);
  const { PGlite } = await import('@electric-sql/pglite');
  const old = (await PGlite.create(dir)) as unknown as PgliteLike;
  const client = await db.connect();
  let failure: unknown;
  try {
    await catchUp(old);
    const { rows: tables } = await old.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY tablename`,
    );
    await client.query('BEGIN');
    await client.query('SET LOCAL statement_timeout = 0');
    // Rows go in table by table, not in foreign-key order: constraints and triggers are not checked while
    // copying rows that were consistent where they came from.
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query(`TRUNCATE ${tables.map((t) => quoteIdent(t.tablename)).join(', ')} CASCADE`);
    const counts: string[] = [];
    for (const { tablename } of tables) {
      const n = await copyTable(old, client, tablename);
      if (n) counts.push(`${tablename} ${n}`);
    }
    await resetSequences(client);
    await client.query(`INSERT INTO site (key, value) VALUES ($1, now()::text)`, [MIGRATED_MARK]);
    await client.query('COMMIT');
    log(`moved from PGlite: ${counts.join(', ') || 'no rows'}; the old folder is kept as ${kept}`);
  } catch (err) {
    failure = err;
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`cannot move the PGlite database in ${dir} into PostgreSQL: ${(err as Error).message}`);
  } finally {
    release(client, failure);
    await old.close();
  }
  renameSync(dir, kept);
}
