// `listflow archive …` on a Mailman 2.1 export: import (threads rebuilt, duplicates and broken entries counted),
// search, thread, mboxrd export, and an export → import round trip into another list.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { messageIdHash } from '../../mail/links.js';
import type { ArchivedPost, SearchHit } from '../../store/archive.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniqueName } from '../helpers/temporal.js';
import { closedPort, runCli, type CliEnv } from './run-cli.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/archive/mailman21.mbox', import.meta.url));
const h = (id: string) => messageIdHash(id);

describe('listflow archive', () => {
  let database: TestDatabase;
  let env: CliEnv;
  let dir: string;
  const newList = async () => {
    const list = `${uniqueName('arch')}@lists.example`;
    const r = await runCli(env, ['lists', 'create', list]);
    assert.equal(r.code, 0, r.stderr);
    return list;
  };
  const threads = async (list: string) => {
    const { rows } = await database.db.query<{ message_id_hash: string; thread_id: string; parent: string | null }>(
      `SELECT a.message_id_hash, a.thread_id, p.message_id_hash AS parent FROM archive a JOIN lists l ON l.id = a.list_id
       LEFT JOIN archive p ON p.id = a.parent_id WHERE l.address = $1 ORDER BY a.message_id_hash`,
      [list],
    );
    return rows;
  };

  before(async () => {
    database = await createTestDatabase();
    // Archive commands need the database only: Temporal is unreachable on purpose.
    env = { DATABASE_URL: database.url, TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}`, LISTFLOW_PUBLIC_URL: 'https://lists.example' };
    dir = mkdtempSync(path.join(os.tmpdir(), 'listflow-archive-'));
  });
  after(async () => {
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a Mailman 2.1 mbox: threads rebuilt, the duplicate skipped, the broken entry reported but not fatal', async () => {
    const list = await newList();
    const r = await runCli(env, ['archive', 'import', list, FIXTURE]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'imported 9, skipped 1 duplicate, 1 unreadable\n');
    assert.match(r.stderr, /^listflow: .*mailman21\.mbox: message 10 \(line 1\d\d\) skipped: no header block/m);

    const rows = await threads(list);
    assert.equal(rows.length, 9);
    const of = (id: string) => rows.find((x) => x.message_id_hash === h(id));
    // References chains, even where the export has a reply before its parent.
    assert.equal(of('a2@example.org')?.thread_id, h('a1@example.com'));
    assert.equal(of('a3@example.com')?.thread_id, h('a1@example.com'));
    assert.equal(of('a3@example.com')?.parent, h('a2@example.org'));
    // RFC 2047 subject, threaded by In-Reply-To.
    assert.equal(of('b2@example.com')?.thread_id, h('b1@example.net'));
    // In-Reply-To names a message that was never archived: the subject (without Re: and [Dev]) decides.
    assert.equal(of('c2@example.com')?.thread_id, h('c1@example.com'));
    assert.equal(of('c2@example.com')?.parent, h('c1@example.com'));
    assert.equal(of('d2@example.com')?.thread_id, h('d1@example.com'));
    assert.equal(new Set(rows.map((x) => x.thread_id)).size, 4);

    const shown = await runCli(env, ['archive', 'thread', list, h('a2@example.org'), '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const thread = JSON.parse(shown.stdout) as ArchivedPost[];
    assert.deepEqual(thread.map((p) => p.messageId), ['a1@example.com', 'a2@example.org', 'a3@example.com']);
    assert.equal(thread[0]?.permalink, `https://lists.example/archive/${encodeURIComponent(list)}/${h('a1@example.com')}`);
    assert.equal(thread[0]?.seq, null, 'imported posts have no list sequence number');
    const text = await runCli(env, ['archive', 'thread', list, h('a1@example.com')]);
    assert.match(text.stdout, /^thread \S+: 3 messages\n/);
    assert.match(text.stdout, /\n\S+ \S+ {2}\[Dev\] Build fails on ARM {2}.*Alice Liddell <alice@example\.com>/);
    assert.match(text.stdout, /\n\S+ \S+ {4}Re: \[Dev\] Build fails on ARM/, 'a reply is indented under its parent');

    const again = await runCli(env, ['archive', 'import', list, FIXTURE]);
    assert.equal(again.stdout, 'imported 0, skipped 10 duplicates, 1 unreadable\n');
    assert.equal((await threads(list)).length, 9);
  });

  it('searches by a body word, by author, in HTML-only posts and in encoded subjects, best match first', async () => {
    const list = await newList();
    assert.equal((await runCli(env, ['archive', 'import', list, FIXTURE])).code, 0);
    const search = async (...q: string[]) => {
      const r = await runCli(env, ['archive', 'search', list, ...q, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as SearchHit[];
    };
    assert.deepEqual((await search('binutils')).map((x) => x.messageId).sort(), ['a2@example.org', 'a3@example.com']);
    assert.deepEqual((await search('Dobbs')).map((x) => x.messageId), ['a2@example.org']);
    assert.deepEqual((await search('hummingbird')).map((x) => x.messageId), ['d1@example.com'], 'HTML-only body converted to text');
    // café is in b1's subject and body, only in b2's subject: b1 ranks first.
    const cafe = await search('café');
    assert.deepEqual(cafe.map((x) => x.messageId), ['b1@example.net', 'b2@example.com']);
    assert.ok((cafe[0]?.rank ?? 0) > (cafe[1]?.rank ?? 0));
    assert.equal(cafe[0]?.authorName, 'Caröl Kühn');
    assert.equal(cafe[0]?.subject, 'Café meetup in München');
    assert.deepEqual((await search('"newer binutils"')).map((x) => x.messageId), ['a2@example.org'], 'phrase search');
    assert.deepEqual(await search('zeppelin'), []);

    const table = await runCli(env, ['archive', 'search', list, 'release', '--limit', '1']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^DATE +AUTHOR +SUBJECT +THREAD +PERMALINK\n/);
    assert.equal(table.stdout.trim().split('\n').length, 2, '--limit 1: one hit');
  });

  it('exports mboxrd, and an export imported into another list gives the same messages byte for byte and the same threads', async () => {
    const a = await newList();
    assert.equal((await runCli(env, ['archive', 'import', a, FIXTURE])).code, 0);
    const first = path.join(dir, 'a.mbox');
    const exported = await runCli(env, ['archive', 'export', a, '--output', first]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout, `exported 9 messages of ${a} to ${first}\n`);
    const mbox = readFileSync(first);
    const text = mbox.toString('latin1');
    assert.equal((text.match(/^From /gm) ?? []).length, 9);
    assert.match(text, /^From alice@example\.com Mon Jan {2}5 10:00:00 2026\n/, 'envelope sender and asctime date');
    assert.ok(!text.includes('\r'), 'CRLF became LF');
    assert.match(text, /\n\n>From the archives: we met there last year too\.\n>>From a quoted mboxrd line/);

    // The spelling writes the same file to stdout.
    const legacy = await runCli(env, ['archive', a, '--export', 'mbox']);
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.equal(legacy.stdout, text);
    const since = await runCli(env, ['archive', 'export', a, '--since', '2026-01-07']);
    assert.equal((since.stdout.match(/^From /gm) ?? []).length, 4, 'c1, c2, d1, d2');

    const b = await newList();
    const imported = await runCli(env, ['archive', 'import', b, first]);
    assert.equal(imported.stdout, 'imported 9, skipped 0 duplicates, 0 unreadable\n', imported.stderr);
    const second = path.join(dir, 'b.mbox');
    assert.equal((await runCli(env, ['archive', 'export', b, '--output', second])).code, 0);
    assert.ok(readFileSync(second).equals(mbox), 'export → import → export is byte for byte the same');

    const raws = async (list: string) =>
      (
        await database.db.query<{ message_id: string; raw: Buffer }>(
          'SELECT a.message_id, m.raw FROM archive a JOIN lists l ON l.id = a.list_id JOIN messages m ON m.sha256 = a.sha256 WHERE l.address = $1 ORDER BY a.message_id',
          [list],
        )
      ).rows;
    const [ra, rb] = [await raws(a), await raws(b)];
    assert.deepEqual(rb.map((r) => r.message_id), ra.map((r) => r.message_id));
    ra.forEach((r, i) => assert.ok(r.raw.equals(rb[i]?.raw as Buffer), `${r.message_id}: same bytes in both lists`));
    const b2 = ra.find((r) => r.message_id === 'b2@example.com')?.raw.toString('latin1') ?? '';
    assert.match(b2, /\r\n\r\nFrom the archives: we met there last year too\.\r\n>From a quoted mboxrd line/, 'mboxrd quoting undone once');
    assert.deepEqual(await threads(b), await threads(a));
  });

  it('reports a missing list, an unreadable or non-mbox file and bad options clearly, with exit codes', async () => {
    const list = await newList();
    const noList = await runCli(env, ['archive', 'import', 'nosuch@lists.example', FIXTURE]);
    assert.deepEqual([noList.code, noList.stderr], [1, 'listflow: there is no list nosuch@lists.example (see: listflow lists list)\n']);
    const missing = path.join(dir, 'missing.mbox');
    const noFile = await runCli(env, ['archive', 'import', list, missing]);
    assert.deepEqual([noFile.code, noFile.stderr], [1, `listflow: cannot read ${missing}: no such file\n`]);
    const notMbox = path.join(dir, 'note.txt');
    writeFileSync(notMbox, 'Subject: hello\n\nnot an mbox\n');
    const bad = await runCli(env, ['archive', 'import', list, notMbox]);
    assert.deepEqual([bad.code, bad.stderr], [1, `listflow: ${notMbox} is not an mbox file (it does not begin with a "From " line)\n`]);

    const since = await runCli(env, ['archive', 'export', list, '--since', 'last tuesday-ish']);
    assert.equal(since.code, 2);
    assert.match(since.stderr, /^listflow: --since: "last tuesday-ish" is not a date/);
    const limit = await runCli(env, ['archive', 'search', list, 'x', '--limit', '0']);
    assert.deepEqual([limit.code, limit.stderr], [2, 'listflow: --limit: a whole number from 1 to 1000\n']);
    const format = await runCli(env, ['archive', list, '--export', 'maildir']);
    assert.deepEqual([format.code, format.stderr], [2, 'listflow: --export: only mbox (mboxrd) is supported, not "maildir"\n']);
    const thread = await runCli(env, ['archive', 'thread', list, 'NOSUCHHASH']);
    assert.equal(thread.code, 1);
    assert.match(thread.stderr, /^listflow: no message NOSUCHHASH in the archive of /);
    const output = await runCli(env, ['archive', 'export', list, '--output', path.join(dir, 'no', 'such', 'dir', 'x.mbox')]);
    assert.equal(output.code, 1);
    assert.match(output.stderr, /^listflow: cannot write .*x\.mbox: ENOENT/);
  });
});
