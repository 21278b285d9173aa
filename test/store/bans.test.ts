// Bans (migration 003) and site settings against PostgreSQL: per list and site-wide, unique, cascading.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PatternError } from '../../mail/patterns.js';
import { DEFAULT_SITE_HEADER_MATCHES } from '../../mail/site-settings.js';
import { addBan, bansFor, listBans, removeBan } from '../../store/bans.js';
import { createList, deleteList } from '../../store/lists.js';
import { addMembers, memberOfLists } from '../../store/members.js';
import { loadSiteSettings, saveSiteSettings, storedSiteKeys } from '../../store/site-settings.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

describe('bans in PostgreSQL', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database.drop();
  });

  it('keeps list bans and site-wide bans apart, and bansFor gives a list both', async () => {
    const db = database.db;
    const dev = await createList(db, 'dev@lists.example');
    const ops = await createList(db, 'ops@lists.example');
    assert.equal(await addBan(db, { listId: dev.id, pattern: ' troll@bad.example ', reason: 'abuse', createdBy: 'cli:test' }), true);
    assert.equal(await addBan(db, { listId: null, pattern: '^.*@spam\\.example$' }), true);
    assert.equal(await addBan(db, { listId: ops.id, pattern: 'other@x.example' }), true);

    const devBans = await listBans(db, dev.id);
    assert.deepEqual(devBans.map((b) => [b.pattern, b.reason, b.createdBy, b.listId]), [['troll@bad.example', 'abuse', 'cli:test', dev.id]]);
    assert.deepEqual((await listBans(db, null)).map((b) => b.pattern), ['^.*@spam\\.example$']);

    const forDev = await bansFor(db, dev.id);
    assert.deepEqual(forDev.list.map((p) => p.text), ['troll@bad.example']);
    assert.deepEqual(forDev.site.map((p) => p.text), ['^.*@spam\\.example$']);
    assert.equal(forDev.list[0]?.test('TROLL@bad.example'), true);
    assert.equal(forDev.site[0]?.test('x@spam.example'), true);
  });

  it('refuses a duplicate quietly (per scope) and allows the same pattern in another scope', async () => {
    const db = database.db;
    const l = await createList(db, 'dup@lists.example');
    assert.equal(await addBan(db, { listId: l.id, pattern: 'a@b.example' }), true);
    assert.equal(await addBan(db, { listId: l.id, pattern: 'a@b.example' }), false);
    assert.equal(await addBan(db, { listId: null, pattern: 'a@b.example' }), true);
    assert.equal(await addBan(db, { listId: null, pattern: 'a@b.example' }), false, 'NULL list_id is unique too (COALESCE index)');
  });

  it('refuses an invalid pattern before storing anything', async () => {
    await assert.rejects(addBan(database.db, { listId: null, pattern: '^(' }), PatternError);
    await assert.rejects(addBan(database.db, { listId: null, pattern: 'not an address' }), PatternError);
    assert.equal((await listBans(database.db, null)).some((b) => b.pattern.startsWith('^(')), false);
  });

  it('refuses what RE2 cannot run (backreferences, lookaround), naming the pattern and why', async () => {
    const cases: [string, RegExp][] = [
      ['^(.)\\1@x\\.example$', /^"\^\(\.\)\\1@x\\\.example\$" is not a valid regular expression: backreferences \(\\1\) are not supported/],
      ['^(?!admin).*@x\\.example$', /lookahead \(\(\?!…\) is not supported/],
      ['^.*(?<=bad)@x\\.example$', /lookbehind \(\(\?<=…\) is not supported/],
    ];
    for (const [pattern, message] of cases) {
      await assert.rejects(addBan(database.db, { listId: null, pattern }), (err: Error) => err instanceof PatternError && message.test(err.message), pattern);
    }
    assert.deepEqual((await listBans(database.db, null)).filter((b) => b.pattern.includes('(?')), []);
  });

  it('a ^regex ban runs in linear time: ^(a+)+$ against 40 a and a ! takes milliseconds', async () => {
    const db = database.db;
    const l = await createList(db, 'redos@lists.example');
    await addBan(db, { listId: l.id, pattern: '^(a+)+$' });
    const [ban] = (await bansFor(db, l.id)).list;
    const hostile = `${'a'.repeat(40)}!@x.example`;
    const started = performance.now();
    // JavaScript's RegExp backtracks 2^40 ways here: /^(a+)+$/i.test(hostile) does not finish in minutes.
    assert.equal(ban?.test(hostile), false);
    assert.ok(performance.now() - started < 50, `${performance.now() - started} ms`);
  });

  it('removes by exact pattern within its scope only', async () => {
    const db = database.db;
    const l = await createList(db, 'rm@lists.example');
    await addBan(db, { listId: l.id, pattern: 'gone@x.example' });
    await addBan(db, { listId: null, pattern: 'gone@x.example' });
    assert.equal(await removeBan(db, l.id, 'gone@x.example'), true);
    assert.equal(await removeBan(db, l.id, 'gone@x.example'), false);
    assert.ok((await listBans(db, null)).some((b) => b.pattern === 'gone@x.example'), 'the site-wide one stays');
  });

  it("a list's bans go with the list; a hand-edited junk row is kept by bansFor and fails when used, never skipped", async () => {
    const db = database.db;
    const l = await createList(db, 'cascade@lists.example');
    await addBan(db, { listId: l.id, pattern: 'x@y.example' });
    await db.query(`INSERT INTO bans (list_id, pattern) VALUES ($1, '^(junk')`, [l.id]);
    const loaded = (await bansFor(db, l.id)).list;
    assert.deepEqual(loaded.map((p) => p.text), ['x@y.example', '^(junk']);
    assert.throws(() => loaded[1]?.test('a@b.example'), (err: Error) => err instanceof PatternError && /^the stored pattern "\^\(junk" is not a valid regular expression: missing closing \)/.test(err.message));
    await deleteList(db, l.address);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM bans WHERE list_id = $1', [l.id]);
    assert.equal(rows[0].n, 0);
  });
});

describe('site settings and memberships in PostgreSQL', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database.drop();
  });

  it('are defaults until set, stored as text under their own keys, beside the site secret', async () => {
    const db = database.db;
    const retention = { retention_raw_days: 14, retention_ledger_days: 30, retention_inbound_days: 30, retention_bounce_events_days: 90, prune_interval_hours: 6 };
    assert.deepEqual(await loadSiteSettings(db), { header_matches: DEFAULT_SITE_HEADER_MATCHES, autoreply_daily_limit: 10, ...retention });
    await saveSiteSettings(db, { autoreply_daily_limit: 4, header_matches: [] });
    await saveSiteSettings(db, { autoreply_daily_limit: 5 });
    const { rows } = await db.query<{ key: string; value: string }>(`SELECT key, value FROM site WHERE key <> 'secret' ORDER BY key`);
    assert.deepEqual(rows, [
      { key: 'autoreply_daily_limit', value: '5' },
      { key: 'header_matches', value: '[]' },
    ]);
    assert.deepEqual(await loadSiteSettings(db), { header_matches: [], autoreply_daily_limit: 5, ...retention });
    assert.deepEqual((await storedSiteKeys(db)).sort(), ['autoreply_daily_limit', 'header_matches']);
  });

  it('memberOfLists finds only member roles on the named lists', async () => {
    const db = database.db;
    const a = await createList(db, 'announce@lists.example');
    const b = await createList(db, 'board@lists.example');
    await addMembers(db, a.id, ['Carol@Example.net']);
    await addMembers(db, b.id, ['carol@example.net'], 'owner');
    assert.deepEqual(await memberOfLists(db, 'carol@EXAMPLE.net', ['announce@lists.example', 'board@lists.example']), ['announce@lists.example']);
    assert.deepEqual(await memberOfLists(db, 'carol@example.net', []), []);
  });
});
