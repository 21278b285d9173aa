// `listflow bounces parse`: the detector's verdict on one message, as an owner reads it, with no server running.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closedPort, runCli } from './run-cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/bounces/${name}`, import.meta.url));

/** Nothing listens at these addresses: a command that tried to reach the database or Temporal would fail. */
async function noServers() {
  return { DATABASE_URL: `postgresql://nobody@127.0.0.1:${await closedPort()}/none`, TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
}

describe('listflow bounces parse', () => {
  it('explains a DSN bounce: recipient, permanent, reason, status, SMTP code, diagnostic — with no server running', async () => {
    const r = await runCli(await noServers(), ['bounces', 'parse', fixture('postfix-dsn.eml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^bounce: yes$/m);
    assert.match(r.stdout, /^method: dsn/m);
    assert.match(r.stdout, /^alice\.smith@example\.net$/m);
    assert.match(r.stdout, /action\s+failed \(permanent\)/);
    assert.match(r.stdout, /reason\s+user_unknown/);
    assert.match(r.stdout, /status\s+5\.1\.1/);
    assert.match(r.stdout, /SMTP code\s+550/);
    assert.match(r.stdout, /diagnostic\s+550 5\.1\.1 .*User unknown/);
    assert.match(r.stdout, /effect\s+counts as a permanent bounce/);
  });

  it('says why an auto-reply is not a bounce', async () => {
    const r = await runCli(await noServers(), ['bounces', 'parse', fixture('vacation.eml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^bounce: no$/m);
    assert.match(r.stdout, /^method: auto-reply/m);
  });

  it('marks a policy refusal as not counting against the member', async () => {
    const r = await runCli(await noServers(), ['bounces', 'parse', fixture('gmail-dmarc.eml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /policy\s+yes/);
    assert.match(r.stdout, /effect\s+none for the member/);
  });

  it('--json gives the report with a policy flag per recipient; "-" reads stdin', async () => {
    const r = await runCli(await noServers(), ['bounces', 'parse', '-', '--json'], readFileSync(fixture('exim.eml'), 'latin1'));
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout) as { isBounce: boolean; method: string; recipients: { address: string; permanent: boolean; policy: boolean; category: string; smtpCode: number }[] };
    assert.equal(v.isBounce, true);
    assert.equal(v.method, 'heuristic');
    assert.deepEqual(
      v.recipients.map((x) => [x.address, x.permanent, x.policy, x.category, x.smtpCode]),
      [['dave.jones@example.co.uk', true, false, 'user_unknown', 550]],
    );
  });

  it('an unreadable file is one clear line and exit 1', async () => {
    const r = await runCli(await noServers(), ['bounces', 'parse', '/nonexistent/bounce.eml']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'listflow: cannot read /nonexistent/bounce.eml: no such file\n');
  });

  it('a directory is refused the same way', async () => {
    const r = await runCli(await noServers(), ['bounces', 'parse', fileURLToPath(new URL('.', import.meta.url))]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^listflow: cannot read .*: is a directory\n$/);
  });

  it('binary garbage is "not a bounce", not a crash', async () => {
    const r = await runCli(await noServers(), ['bounces', 'parse', fixture('garbage.bin')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^bounce: no$/m);
  });
});
