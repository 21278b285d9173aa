// `listflow tokens …` as an operator uses it: a token is printed once and only its hash is kept; names are
// checked; list never shows a token; a revoked token stops authenticating at once.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { authenticate } from '../../web/auth.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { closedPort, runCli, type CliEnv } from './run-cli.js';

describe('listflow tokens', () => {
  let database: TestDatabase;
  let env: CliEnv;

  before(async () => {
    database = await createTestDatabase();
    // Temporal is unreachable on purpose: token commands need only the database.
    env = { DATABASE_URL: database.url, TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
  });
  after(async () => {
    await database.drop();
  });

  async function create(name: string): Promise<string> {
    const made = await runCli(env, ['tokens', 'create', '--name', name]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^lf_[A-Za-z0-9_-]{43}\n$/, 'the token alone on stdout');
    assert.match(made.stderr, /shown only this once/);
    return made.stdout.trim();
  }

  it('create prints the token once and stores only its SHA-256; list shows name, created and last used, never the token', async () => {
    const token = await create('ops');
    const { rows } = await database.db.query<{ name: string; token_sha256: Buffer; created_by: string }>('SELECT name, token_sha256, created_by FROM api_tokens');
    assert.deepEqual(rows.map((r) => [r.name, r.token_sha256.toString('hex')]), [['ops', createHash('sha256').update(token).digest('hex')]]);
    assert.match(rows[0]?.created_by ?? '', /^cli:/);
    const everything = JSON.stringify((await database.db.query('SELECT * FROM api_tokens')).rows);
    assert.ok(!everything.includes(token.slice(3)), 'the token itself is nowhere in the table');

    const listed = await runCli(env, ['tokens', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+CREATED\s+LAST USED\s+BY$/m);
    assert.match(listed.stdout, /^ops\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+never\s+cli:/m);
    assert.ok(!listed.stdout.includes(token) && !listed.stdout.includes(token.slice(3, 12)), 'list never shows the token');

    assert.equal(await authenticate(database.db, `Bearer ${token}`), 'ops');
    const json = JSON.parse((await runCli(env, ['tokens', 'list', '--json'])).stdout) as { name: string; lastUsedAt: string | null }[];
    assert.equal(json.length, 1);
    assert.equal(json[0]?.name, 'ops');
    assert.ok(json[0]?.lastUsedAt, 'last used is shown once the token is used');
    assert.ok(!JSON.stringify(json).includes(token.slice(3)));
  });

  it('refuses a duplicate name and bad names with one clear line and exit 1, storing nothing', async () => {
    await create('deploy');
    const dup = await runCli(env, ['tokens', 'create', '--name', 'deploy']);
    assert.equal(dup.code, 1);
    assert.equal(dup.stdout, '', 'no token is printed');
    assert.equal(dup.stderr, 'listflow: a token named deploy exists already (revoke it first to reuse the name)\n');

    for (const bad of ['Deploy', 'with space', '-leading-dash', '', 'x'.repeat(65), 'ops:admin', 'naïve']) {
      const res = await runCli(env, ['tokens', 'create', '--name', bad]);
      assert.equal(res.code, 1, bad);
      assert.equal(res.stdout, '', bad);
      assert.match(res.stderr, /^listflow: ".*" is not a token name: use 1 to 64 of a-z, 0-9, "\.", "_" and "-", starting with a letter or digit\n$/, bad);
    }
    const missing = await runCli(env, ['tokens', 'create']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /required option '--name <name>'/);
    const { rows } = await database.db.query<{ n: string }>(`SELECT count(*) AS n FROM api_tokens WHERE name = 'deploy'`);
    assert.equal(rows[0]?.n, '1');
  });

  it('revoke ends a token at once; the name can then go to a new token; revoking again is an error', async () => {
    const old = await create('ci');
    assert.equal(await authenticate(database.db, `Bearer ${old}`), 'ci');

    const revoked = await runCli(env, ['tokens', 'revoke', 'ci']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, 'revoked API token ci; requests with it are refused from now on\n');
    assert.equal(await authenticate(database.db, `Bearer ${old}`), null);

    const again = await runCli(env, ['tokens', 'revoke', 'ci']);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'listflow: no live API token is named ci (see: listflow tokens list)\n');
    assert.doesNotMatch((await runCli(env, ['tokens', 'list'])).stdout, /^ci\s/m);
    assert.match((await runCli(env, ['tokens', 'list', '--all'])).stdout, /^ci\s.*\d\d:\d\d:\d\dZ$/m, '--all shows it with when it was revoked');

    const renewed = await create('ci');
    assert.equal(await authenticate(database.db, `Bearer ${renewed}`), 'ci');
    assert.equal(await authenticate(database.db, `Bearer ${old}`), null, 'the old token stays revoked');
  });
});
