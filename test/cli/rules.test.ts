// The posting-policy commands as an operator uses them: list-valued settings, the moderator password,
// site settings, bans and the chain, through the real `listflow` program against PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyPassword } from '../../mail/password.js';
import { getList, updateSettings } from '../../store/lists.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniqueName } from '../helpers/temporal.js';
import { closedPort, runCli, type CliEnv } from './run-cli.js';

describe('listflow posting policy commands', () => {
  let database: TestDatabase;
  let env: CliEnv;
  const newList = async () => {
    const list = `${uniqueName('dev')}@lists.example`;
    const r = await runCli(env, ['lists', 'create', list]);
    assert.equal(r.code, 0, r.stderr);
    return list;
  };

  before(async () => {
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url, TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
  });
  after(async () => {
    await database.drop();
  });

  it('refuses an invalid regular expression with the key and the reason, exit 1, nothing stored', async () => {
    const list = await newList();
    const r = await runCli(env, ['lists', 'set', list, 'emergency=true', 'hold_these_nonmembers+=^(.*@spam\\.example']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^listflow: hold_these_nonmembers\+=\^\(\.\*@spam\\\.example: "\^\(\.\*@spam\\\.example" is not a valid regular expression: .+ \(nothing was changed\)\n$/);
    const bad = await runCli(env, ['lists', 'set', list, 'header_matches+=X-Spam-Flag: yes -> bounce']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /header_matches\+=X-Spam-Flag: yes -> bounce: "bounce" is not an action/);
    assert.deepEqual((await getList(database.db, list))?.overrides, {});
  });

  it('adds, removes and clears list items, and lists show prints one item a line', async () => {
    const list = await newList();
    const add = await runCli(env, ['lists', 'set', list, 'accept_these_nonmembers+=^.*@partner\\.example$', 'accept_these_nonmembers+=@announce@lists.example', 'header_matches+=X-Spam-Score: ^\\*{5} -> discard']);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stderr, 'listflow: note: there is no list announce@lists.example (yet), so @announce@lists.example matches nobody\n');
    assert.equal(
      add.stdout,
      `${list}: accept_these_nonmembers = ^.*@partner\\.example$, @announce@lists.example\n${list}: header_matches = X-Spam-Score: ^\\*{5} -> discard\n`,
    );
    const shown = await runCli(env, ['lists', 'show', list]);
    assert.match(shown.stdout, /^\s+accept_these_nonmembers\s+\^\.\*@partner\\\.example\$\s+\(default: \(none\)\)\n\s+@announce@lists\.example\n/m);
    assert.match(shown.stdout, /^\s+default_member_action\s+defer\s+\(default\)$/m);
    assert.match(shown.stdout, /^\s+max_num_recipients\s+10\s+\(default\)$/m);

    const remove = await runCli(env, ['lists', 'set', list, 'accept_these_nonmembers-=^.*@partner\\.example$']);
    assert.equal(remove.stdout, `${list}: accept_these_nonmembers = @announce@lists.example\n`);
    const missing = await runCli(env, ['lists', 'set', list, 'accept_these_nonmembers-=nobody@example.com']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /"nobody@example\.com" is not in accept_these_nonmembers \(it has: @announce@lists\.example\)/);
    const clear = await runCli(env, ['lists', 'set', list, 'header_matches=']);
    assert.equal(clear.stdout, `${list}: header_matches = (none)\n`);
    const stored = await getList(database.db, list);
    assert.deepEqual(stored?.overrides, { accept_these_nonmembers: ['@announce@lists.example'], header_matches: [] });
  });

  it('stores the moderator password hashed and never prints it', async () => {
    const list = await newList();
    const set = await runCli(env, ['lists', 'set', list, 'moderator_password=Tr0ub4dor&3']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, `${list}: moderator_password = (set)\n`);
    const stored = (await getList(database.db, list))?.settings.moderator_password ?? '';
    assert.equal(await verifyPassword(stored, 'Tr0ub4dor&3'), true);
    for (const args of [['lists', 'show', list], ['lists', 'show', list, '--json'], ['lists', 'list', '--json']]) {
      const r = await runCli(env, args);
      assert.doesNotMatch(r.stdout, /Tr0ub4dor|scrypt\$/, args.join(' '));
    }
    assert.match((await runCli(env, ['lists', 'show', list])).stdout, /^\s+moderator_password\s+\(set\)\s+\(default: \(not set\)\)$/m);
    const cleared = await runCli(env, ['lists', 'set', list, 'moderator_password=']);
    assert.equal(cleared.stdout, `${list}: moderator_password = (not set)\n`);
  });

  it('shows and sets site settings, refusing bad values', async () => {
    const shown = await runCli(env, ['site', 'show']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^\s+header_matches\s+X-Spam-Flag: \^\\s\*yes\\b -> hold\s+\(default\)$/m);
    assert.match(shown.stdout, /^\s+autoreply_daily_limit\s+10\s+\(default\)$/m);
    const set = await runCli(env, ['site', 'set', 'autoreply_daily_limit=3', 'header_matches+=X-Spam-Level: \\*{10} -> discard']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'site: header_matches = X-Spam-Flag: ^\\s*yes\\b -> hold, X-Spam-Level: \\*{10} -> discard\nsite: autoreply_daily_limit = 3\n');
    const { rows } = await database.db.query<{ value: string }>(`SELECT value FROM site WHERE key = 'autoreply_daily_limit'`);
    assert.equal(rows[0]?.value, '3', 'stored as text under exactly that key (read by the auto-reply limiter)');
    const bad = await runCli(env, ['site', 'set', 'header_matches+=Subject: (']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^listflow: header_matches\+=Subject: \(: "\(" is not a valid regular expression/);
    const json = JSON.parse((await runCli(env, ['site', 'show', '--json'])).stdout) as { autoreply_daily_limit: number };
    assert.equal(json.autoreply_daily_limit, 3);
  });

  it('adds, lists and removes bans per list and site-wide', async () => {
    const list = await newList();
    const add = await runCli(env, ['bans', 'add', 'troll@bad.example', '--list', list, '--reason', 'abuse']);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, `banned troll@bad.example on ${list}\n`);
    assert.equal((await runCli(env, ['bans', 'add', '^.*@spam\\.example$'])).stdout, 'banned ^.*@spam\\.example$ site-wide\n');
    assert.equal((await runCli(env, ['bans', 'add', '^.*@spam\\.example$'])).stdout, '^.*@spam\\.example$ was already banned site-wide\n');

    const listed = await runCli(env, ['bans', 'list', '--list', list]);
    assert.match(listed.stdout, /^PATTERN\s+REASON\s+BY\s+SINCE\ntroll@bad\.example\s+abuse\s+cli:\S+\s+\d{4}-/);
    assert.match((await runCli(env, ['bans', 'list'])).stdout, /\^\.\*@spam\\\.example\$/);

    const bad = await runCli(env, ['bans', 'add', '^(oops']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^listflow: \^\(oops: "\^\(oops" is not a valid regular expression/);
    const noList = await runCli(env, ['bans', 'add', 'x@y.example', '--list', 'nosuch@lists.example']);
    assert.equal(noList.code, 1);
    assert.match(noList.stderr, /there is no list nosuch@lists\.example/);

    assert.equal((await runCli(env, ['bans', 'remove', 'troll@bad.example', '--list', list])).stdout, `unbanned troll@bad.example on ${list}\n`);
    const again = await runCli(env, ['bans', 'remove', 'troll@bad.example', '--list', list]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /troll@bad\.example is not banned on /);
    assert.equal((await runCli(env, ['bans', 'list', '--list', list])).stdout, `no bans on ${list}\n`);
  });

  it('prints the posting chain on one screen', async () => {
    const r = await runCli(env, ['chain']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^RULE\s+ACTION\s+WHEN$/);
    assert.match(lines[1] ?? '', /^no-senders\s+discard\s+The message names no sender/);
    assert.ok(lines.length < 25, 'fits on one screen');
    assert.ok(lines.every((l) => l.length <= 160), 'and in its width');
  });

  it('refuses patterns RE2 cannot run with one line naming the pattern and why, exit 1, nothing stored', async () => {
    const list = await newList();
    const set = await runCli(env, ['lists', 'set', list, 'header_matches+=Subject: (a)\\1 -> hold']);
    assert.equal(set.code, 1);
    assert.equal(set.stdout, '');
    assert.match(
      set.stderr,
      /^listflow: header_matches\+=Subject: \(a\)\\1 -> hold: "\(a\)\\1" is not a valid regular expression: backreferences \(\\1\) are not supported: patterns are RE2 syntax, matched in linear time \(nothing was changed\)\n$/,
    );
    const ban = await runCli(env, ['bans', 'add', '^(?!admin).*@x\\.example$', '--list', list]);
    assert.equal(ban.code, 1);
    assert.match(ban.stderr, /^listflow: \^\(\?!admin\)\.\*@x\\\.example\$: "\^\(\?!admin\)\.\*@x\\\.example\$" is not a valid regular expression: lookahead \(\(\?!…\) is not supported: patterns are RE2 syntax, matched in linear time\n$/);
    const site = await runCli(env, ['site', 'set', 'header_matches+=Subject: (?<=re)x -> hold']);
    assert.equal(site.code, 1);
    assert.match(site.stderr, /^listflow: header_matches\+=Subject: \(\?<=re\)x -> hold: .*lookbehind \(\(\?<=…\) is not supported.* \(nothing was changed\)\n$/);
    assert.deepEqual((await getList(database.db, list))?.overrides, {});
    assert.equal((await runCli(env, ['bans', 'list', '--list', list])).stdout, `no bans on ${list}\n`);
  });

  it('shows a stored pattern RE2 cannot run with a note saying why, and removes it by its text', async () => {
    const list = await newList();
    // As rows written before listflow used RE2.
    await updateSettings(database.db, list, { header_matches: ['Subject: (a)\\1 -> discard'] });
    await database.db.query('INSERT INTO bans (list_id, pattern) VALUES ((SELECT id FROM lists WHERE address = $1), $2)', [list, '^(.)\\1@x\\.example$']);
    const shown = await runCli(env, ['lists', 'show', list]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^\s+header_matches\s+Subject: \(a\)\\1 -> discard\s+\(default: \(none\)\)$/m);
    assert.equal(
      shown.stderr,
      'listflow: note: header_matches item "Subject: (a)\\1 -> discard" cannot be used, so posts it applies to are held: "(a)\\1" is not a valid regular expression: backreferences (\\1) are not supported: patterns are RE2 syntax, matched in linear time (remove it with header_matches-=ITEM)\n',
    );
    const bans = await runCli(env, ['bans', 'list', '--list', list]);
    assert.match(bans.stderr, /^listflow: note: the ban \^\(\.\)\\1@x\\\.example\$ cannot be used, so posts it is tested on are held: .*backreferences/);
    const removed = await runCli(env, ['lists', 'set', list, 'header_matches-=Subject: (a)\\1 -> discard']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `${list}: header_matches = (none)\n`);
    assert.equal((await runCli(env, ['bans', 'remove', '^(.)\\1@x\\.example$', '--list', list])).code, 0);
    assert.equal((await runCli(env, ['lists', 'show', list])).stderr, '');
  });
});
