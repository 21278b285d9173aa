// `listflow lists …` as an operator uses it: create, list, show, set (validated, all or nothing), delete.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getList } from '../../store/lists.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniqueName } from '../helpers/temporal.js';
import { closedPort, runCli, type CliEnv } from './run-cli.js';

describe('listflow lists', () => {
  let database: TestDatabase;
  let env: CliEnv;
  const newList = () => `${uniqueName('dev')}@lists.example`;

  before(async () => {
    database = await createTestDatabase();
    // Temporal is unreachable on purpose: list commands must not need it.
    env = { DATABASE_URL: database.url, TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
  });
  after(async () => {
    await database.drop();
  });

  it('creates a list with owners, and shows it in lists list and lists show', async () => {
    const list = newList();
    const created = await runCli(env, ['lists', 'create', list, '--name', 'Developers', '--owner', 'Ann@Example.com', 'bob@example.com']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`created list ${list} \\(Developers\\), owned by Ann@example.com, bob@example.com`));

    const listed = await runCli(env, ['lists', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^LIST\s+NAME\s+MEMBERS\s+CREATED$/m);
    assert.match(listed.stdout, new RegExp(`^${list}\\s+Developers\\s+0\\s`, 'm'));

    const json = await runCli(env, ['lists', 'list', '--json']);
    const entry = (JSON.parse(json.stdout) as { address: string; name: string; members: number }[]).find((l) => l.address === list);
    assert.deepEqual({ name: entry?.name, members: entry?.members }, { name: 'Developers', members: 0 });

    const shown = await runCli(env, ['lists', 'show', list]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^\s+owners\s+2$/m);
    assert.match(shown.stdout, /^\s+members\s+0$/m);
    assert.match(shown.stdout, /^\s+moderators\s+0$/m);
    assert.match(shown.stdout, /^\s+max_hold_days\s+7\s+\(default\)$/m);
    assert.match(shown.stdout, /^\s+nonmember_action\s+hold\s+\(default\)$/m);
  });

  it('refuses an invalid list address, an invalid owner and a list that exists', async () => {
    const bad = await runCli(env, ['lists', 'create', 'not-an-address']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'listflow: the list address: "not-an-address" is not an address (local@domain)\n');

    const list = newList();
    const badOwner = await runCli(env, ['lists', 'create', list, '--owner', 'bob@']);
    assert.equal(badOwner.code, 1);
    assert.match(badOwner.stderr, /^listflow: an owner: "bob@" is not an address/);
    assert.equal(await getList(database.db, list), null, 'nothing is created when an owner is invalid');

    assert.equal((await runCli(env, ['lists', 'create', list])).code, 0);
    const again = await runCli(env, ['lists', 'create', list.toUpperCase()]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `listflow: the list ${list} already exists\n`);
  });

  it('sets valid settings and marks the others as defaults', async () => {
    const list = newList();
    await runCli(env, ['lists', 'create', list]);
    const set = await runCli(env, ['lists', 'set', list, 'max_hold_days=3', 'nonmember_action=reject', 'description=Talk about development']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, `${list}: max_hold_days = 3\n${list}: nonmember_action = reject\n${list}: description = Talk about development\n`);
    const shown = await runCli(env, ['lists', 'show', list]);
    assert.match(shown.stdout, /^\s+max_hold_days\s+3\s+\(default: 7\)$/m);
    assert.match(shown.stdout, /^\s+nonmember_action\s+reject\s+\(default: hold\)$/m);
    assert.match(shown.stdout, /^\s+delivery_mode\s+bulk\s+\(default\)$/m);
    const json = JSON.parse((await runCli(env, ['lists', 'show', list, '--json'])).stdout) as { settings: Record<string, { value: unknown; isDefault: boolean }> };
    assert.deepEqual(json.settings.max_hold_days, { value: 3, default: 7, isDefault: false });
  });

  it('rejects an unknown key or a bad value with one line, a non-zero exit, and nothing stored', async () => {
    const list = newList();
    await runCli(env, ['lists', 'create', list]);

    const unknown = await runCli(env, ['lists', 'set', list, 'max_hold_days=3', 'colour=blue']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr.split('\n').length, 2, 'one line');
    assert.match(unknown.stderr, /^listflow: unknown setting "colour" \(known: description, .*\) \(nothing was changed\)\n$/);
    assert.equal(unknown.stdout, '');

    const badValue = await runCli(env, ['lists', 'set', list, 'nonmember_action=reject', 'max_hold_days=soon']);
    assert.equal(badValue.code, 1);
    assert.equal(badValue.stderr, 'listflow: max_hold_days=soon: must be a whole number from 1 to 365 (nothing was changed)\n');

    const notKeyValue = await runCli(env, ['lists', 'set', list, 'max_hold_days']);
    assert.equal(notKeyValue.code, 1);
    assert.match(notKeyValue.stderr, /^listflow: "max_hold_days" is not key=value/);

    const stored = await getList(database.db, list);
    assert.deepEqual(stored?.overrides, {}, 'no assignment of a rejected command was stored');
  });

  it('deletes a list only with --yes', async () => {
    const list = newList();
    await runCli(env, ['lists', 'create', list, '--owner', 'ann@example.com']);
    const refused = await runCli(env, ['lists', 'delete', list]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `listflow: not deleting ${list} (0 members, 1 owner and 0 moderators) without --yes: run listflow lists delete ${list} --yes\n`);
    assert.notEqual(await getList(database.db, list), null);

    const deleted = await runCli(env, ['lists', 'delete', list, '--yes']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `deleted list ${list} with its 0 members, 1 owner and 0 moderators\n`);
    assert.equal(await getList(database.db, list), null);

    const gone = await runCli(env, ['lists', 'show', list]);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, `listflow: there is no list ${list} (see: listflow lists list)\n`);
  });

  it('says in one line when the database cannot be reached, and exits 2 on bad configuration', async () => {
    const port = await closedPort();
    const embedded = await runCli({ LISTFLOW_POSTGRES_LISTEN: `127.0.0.1:${port}` }, ['lists', 'list']);
    assert.equal(embedded.code, 1);
    assert.equal(embedded.stderr, `listflow: cannot reach listflow's embedded database on 127.0.0.1:${port}: start listflow (npm start) or set DATABASE_URL\n`);

    const external = await runCli({ DATABASE_URL: `postgresql://postgres:secret@127.0.0.1:${port}/listflow` }, ['lists', 'list']);
    assert.equal(external.code, 1);
    assert.match(external.stderr, new RegExp(`^listflow: cannot use the database at DATABASE_URL \\(127\\.0\\.0\\.1:${port}/listflow\\): .+\\n$`));
    assert.doesNotMatch(external.stderr, /secret/, 'the password is never printed');

    const config = await runCli({ DATABASE_URL: 'mysql://localhost/x' }, ['lists', 'list']);
    assert.equal(config.code, 2);
    assert.equal(config.stderr, 'listflow: DATABASE_URL=mysql://localhost/x must start with postgres:// or postgresql://\n');
  });
});
