// `listflow members …`: add by arguments and from a 100,000-line file, remove, list, and set moderation.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getList } from '../../store/lists.js';
import { findMember, listMembers } from '../../store/members.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniqueName } from '../helpers/temporal.js';
import { closedPort, runCli, type CliEnv } from './run-cli.js';

describe('listflow members', () => {
  let database: TestDatabase;
  let env: CliEnv;
  let dir: string;
  const cli = (...args: string[]) => runCli(env, args);

  async function newList(): Promise<{ address: string; id: number }> {
    const address = `${uniqueName('dev')}@lists.example`;
    const created = await cli('lists', 'create', address);
    assert.equal(created.code, 0, created.stderr);
    const list = await getList(database.db, address);
    assert.ok(list);
    return { address, id: list.id };
  }

  before(async () => {
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url, TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
    dir = mkdtempSync(path.join(os.tmpdir(), 'listflow-cli-members-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await database.drop();
  });

  it('adds addresses given as arguments, reports an invalid one and exits 1, and counts those already there', async () => {
    const list = await newList();
    const first = await cli('members', 'add', list.address, 'alice@example.com', 'Bob@Example.COM', 'carol@', '--no-welcome');
    assert.equal(first.code, 1, 'an unusable argument fails the command');
    assert.equal(first.stderr, 'listflow: argument 3: "carol@" is not an address (local@domain)\n');
    assert.equal(first.stdout, `${list.address}: 2 added, 0 already there, 1 invalid\n`);

    const again = await cli('members', 'add', list.address, 'ALICE@example.com', 'dave@example.com', '--no-welcome');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `${list.address}: 1 added, 1 already there, 0 invalid\n`);

    const members = (await listMembers(database.db, list.id)).map((m) => m.address);
    assert.deepEqual(members, ['alice@example.com', 'Bob@example.com', 'dave@example.com']);
  });

  it('imports 100,000 addresses from a file in seconds, reporting invalid lines by number without failing', async (t) => {
    const list = await newList();
    await cli('members', 'add', list.address, 'user17@example.org', 'user99999@example.org', '--no-welcome');
    const lines = ['# exported from the old list manager', ''];
    for (let i = 0; i < 100_000; i++) lines.push(`user${i}@example.org`);
    // Invalid lines at known line numbers (1-based, after the two header lines).
    lines.splice(10, 0, 'not-an-address'); // line 11
    lines.splice(500, 0, 'Ann Example <ann@example.org>'); // line 501
    lines.splice(70_000, 0, 'bob@'); // line 70,001
    lines.push('', '   ', '# the end', 'USER5@example.org'); // a repeat, in another case
    const file = path.join(dir, 'members.txt');
    writeFileSync(file, lines.join('\r\n') + '\r\n');

    const result = await cli('members', 'add', list.address, '--file', file);
    t.diagnostic(`100,000-address import took ${result.ms} ms (whole command, process start included)`);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${list.address}: 99,998 added, 3 already there, 3 invalid\n`);
    const stderr = result.stderr.trimEnd().split('\n');
    assert.deepEqual(stderr.slice(0, 3), [
      `listflow: ${file}:11: "not-an-address" is not an address (local@domain)`,
      `listflow: ${file}:501: "Ann Example <ann@example.org>" is not a plain address (no names, spaces, brackets or commas)`,
      `listflow: ${file}:70001: "bob@" is not an address (local@domain)`,
    ]);
    // The new members are owed a welcome (marked by the same bulk insert); with Temporal down they wait.
    assert.match(stderr[3] ?? '', /^listflow: 99,998 welcome messages not sent yet: .*they go out when listflow next starts, or with the next members add or remove/);
    assert.equal(stderr.length, 4);
    const { rows } = await database.db.query<{ n: string; owed: string }>('SELECT count(*) AS n, count(*) FILTER (WHERE welcome_pending) AS owed FROM members WHERE list_id = $1', [list.id]);
    assert.equal(Number(rows[0]?.n), 100_000);
    assert.equal(Number(rows[0]?.owed), 99_998, 'the two added before with --no-welcome are owed none');
    assert.ok(result.ms < 60_000, `the import took ${result.ms} ms`);

    const shown = await cli('lists', 'show', list.address);
    assert.match(shown.stdout, /^\s+members\s+100000$/m);
  });

  it('reads addresses from stdin with --file -', async () => {
    const list = await newList();
    const result = await runCli(env, ['members', 'add', list.address, '--file', '-', '--role', 'moderator'], 'mod1@example.com\n# c\nmod2@example.com\n');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${list.address}: 2 added (as moderators), 0 already there, 0 invalid\n`);
  });

  it('removes members, naming the addresses that were not there', async () => {
    const list = await newList();
    await cli('members', 'add', list.address, 'alice@example.com', 'bob@example.com');
    const removed = await cli('members', 'remove', list.address, 'ALICE@example.com', '--no-goodbye');
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `${list.address}: removed 1 member\n`);

    const partly = await cli('members', 'remove', list.address, 'bob@example.com', 'zed@example.com', '--no-goodbye');
    assert.equal(partly.code, 1);
    assert.equal(partly.stdout, `${list.address}: removed 1 member\n`);
    assert.equal(partly.stderr, `listflow: zed@example.com is not a member of ${list.address}\n`);
    assert.deepEqual(await listMembers(database.db, list.id), []);
  });

  it('lists members as an aligned table or JSON, by role', async () => {
    const list = await newList();
    await cli('members', 'add', list.address, 'alice@example.com', 'bob@example.com');
    await cli('members', 'add', list.address, 'owner@example.com', '--role', 'owner');

    const all = await cli('members', 'list', list.address);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.stdout.trimEnd().split('\n'), [
      'ADDRESS            ROLE    MODERATION  DELIVERY',
      'alice@example.com  member  default     enabled regular',
      'bob@example.com    member  default     enabled regular',
      'owner@example.com  owner   default     enabled regular',
    ]);

    const owners = JSON.parse((await cli('members', 'list', list.address, '--role', 'owner', '--json')).stdout) as { address: string; role: string }[];
    assert.deepEqual(owners.map((o) => [o.address, o.role]), [['owner@example.com', 'owner']]);

    const badRole = await cli('members', 'list', list.address, '--role', 'king');
    assert.equal(badRole.code, 1);
    assert.match(badRole.stderr, /argument 'king' is invalid\. Allowed choices are owner, moderator, member/);

    const noList = await cli('members', 'list', 'nope@lists.example');
    assert.equal(noList.code, 1);
    assert.equal(noList.stderr, 'listflow: there is no list nope@lists.example (see: listflow lists list)\n');
  });

  it("sets a member's moderation, and refuses a bad value or a non-member", async () => {
    const list = await newList();
    await cli('members', 'add', list.address, 'alice@example.com');
    const set = await cli('members', 'set', list.address, 'Alice@example.com', 'moderation=hold');
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, `${list.address}: alice@example.com moderation = hold\n`);
    assert.equal((await findMember(database.db, list.id, 'alice@example.com'))[0]?.moderation, 'hold');

    const bad = await cli('members', 'set', list.address, 'alice@example.com', 'moderation=maybe');
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'listflow: moderation=maybe: must be one of default, accept, hold, reject, discard\n');
    const unknown = await cli('members', 'set', list.address, 'alice@example.com', 'digest=yes');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^listflow: "digest=yes" is not a member setting/);
    assert.equal((await findMember(database.db, list.id, 'alice@example.com'))[0]?.moderation, 'hold');

    const stranger = await cli('members', 'set', list.address, 'zed@example.com', 'moderation=accept');
    assert.equal(stranger.code, 1);
    assert.equal(stranger.stderr, `listflow: zed@example.com is not a member of ${list.address}\n`);
  });
});
