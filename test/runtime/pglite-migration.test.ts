// A data dir from an earlier listflow, whose embedded database was PGlite, is moved into PostgreSQL on the
// first start — lists, members, stored messages and the site secret — never started empty; the old folder is kept.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { MIGRATIONS_DIR, siteSecret } from '../../store/db.js';
import { createList, getList } from '../../store/lists.js';
import { listMembers } from '../../store/members.js';
import { getMessage } from '../../store/messages.js';
import { startEmbeddedDatabase } from '../helpers/embedded.js';

/** What an earlier listflow left: PGlite in `<data>/pglite`, at an older migration, with a list in it. */
async function earlierDataDir(dataDir: string, raw: Buffer): Promise<void> {
  const old = await PGlite.create(path.join(dataDir, 'pglite'));
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort().slice(0, 8);
  await old.exec(`CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  for (const f of files) {
    await old.exec(readFileSync(new URL(f, MIGRATIONS_DIR), 'utf8'));
    await old.query('INSERT INTO schema_migrations (name) VALUES ($1)', [f]);
  }
  await old.query(`INSERT INTO site (key, value) VALUES ('secret', 'the-old-secret')`);
  await old.query(`INSERT INTO lists (address, local_part, domain, display_name) VALUES ('old@example.org', 'old', 'example.org', 'Old')`);
  for (const [i, a] of ['ann@example.org', 'bo@example.org'].entries()) {
    await old.query(`INSERT INTO members (list_id, address, address_key, verp_token) SELECT id, $1, $1, $2 FROM lists`, [a, `tok${i}`]);
  }
  await old.query(`INSERT INTO messages (sha256, raw, size) VALUES ('abc', $1, $2)`, [raw, raw.length]);
  await old.close();
}

describe('moving a PGlite data dir into the embedded PostgreSQL', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-pglite-move-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('copies every row once, keeps the secret and the old folder, and lets ids continue', async () => {
    const raw = Buffer.from([0x46, 0x72, 0x6f, 0x6d, 0x3a, 0x20, 0xff, 0x00, 0xfe, 0x0d, 0x0a]);
    await earlierDataDir(dataDir, raw);

    const first = await startEmbeddedDatabase(dataDir);
    try {
      const list = await getList(first.db, 'old@example.org');
      assert.ok(list, 'the list came over');
      assert.deepEqual((await listMembers(first.db, list.id, 'member')).map((m) => m.address).sort(), ['ann@example.org', 'bo@example.org']);
      assert.equal(await siteSecret(first.db), 'the-old-secret', 'tokens mailed before the move still verify');
      assert.deepEqual(await getMessage(first.db, 'abc'), raw, 'stored bytes are copied exactly');
      const next = await createList(first.db, 'new@example.org');
      assert.ok(next.id > list.id, 'new rows do not collide with copied ones');
    } finally {
      await first.drop();
    }
    assert.equal(existsSync(path.join(dataDir, 'pglite')), false);
    assert.equal(existsSync(path.join(dataDir, 'pglite.migrated', 'PG_VERSION')), true, 'the old folder is kept');

    const second = await startEmbeddedDatabase(dataDir);
    try {
      assert.ok(await getList(second.db, 'new@example.org'), 'a restart does not copy again over what changed since');
    } finally {
      await second.drop();
    }
  });
});
