// The archive on the embedded database: migration 005 (generated tsvector, GIN), filing, websearch_to_tsquery, threads on the embedded PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { archiveFacts } from '../../mail/archive.js';
import { messageIdHash } from '../../mail/links.js';
import { splitMbox, toCrlf } from '../../mail/mbox.js';
import { loadConfig } from '../../runtime/config.js';
import { openDatabase, startEmbeddedPostgres } from '../../runtime/database.js';
import { fileMessage, searchArchive, threadOf } from '../../store/archive.js';
import { createList } from '../../store/lists.js';
import { putMessage } from '../../store/messages.js';
import { freePort } from '../helpers/ingress.js';

describe('the archive on the embedded PostgreSQL', () => {
  it('files a Mailman 2.1 export, threads it and finds posts by words and phrases', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-test-embedded-archive-'));
    const config = loadConfig({ LISTFLOW_DATA_DIR: dataDir, LISTFLOW_POSTGRES_LISTEN: `127.0.0.1:${await freePort()}` });
    const embedded = await startEmbeddedPostgres(config);
    try {
      const db = await openDatabase(config);
      try {
        const list = await createList(db, 'dev@lists.example');
        const entries = splitMbox(readFileSync(new URL('../../../test/fixtures/archive/mailman21.mbox', import.meta.url)));
        let filed = 0;
        for (const e of entries.filter((x) => !x.problem).sort((a, b) => Date.parse(a.envelopeDate ?? '') - Date.parse(b.envelopeDate ?? ''))) {
          const raw = toCrlf(e.raw);
          const r = await fileMessage(db, { listId: list.id, sha256: await putMessage(db, raw), facts: await archiveFacts(raw), fallbackDate: e.envelopeDate ?? new Date().toISOString() });
          if (r.filed) filed++;
        }
        assert.equal(filed, 9);
        const { rows } = await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'archive_search'`);
        assert.match(rows[0]?.indexdef ?? '', /USING gin/);
        const find = async (q: string) => (await searchArchive(db, list.id, q, { publicUrl: 'https://x' })).map((h) => h.messageId);
        assert.deepEqual((await find('binutils')).sort(), ['a2@example.org', 'a3@example.com']);
        assert.deepEqual(await find('"newer binutils"'), ['a2@example.org']);
        assert.deepEqual(await find('café -meet'), ['b2@example.com'], 'b1 says "meet", b2 only "met"');
        assert.deepEqual((await find('hummingbird or relocation')).sort(), ['a2@example.org', 'd1@example.com']);
        const thread = await threadOf(db, list.id, messageIdHash('c2@example.com'), 'https://x');
        assert.deepEqual(thread.map((p) => p.messageId), ['c1@example.com', 'c2@example.com']);
      } finally {
        await db.end();
      }
    } finally {
      await embedded.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
