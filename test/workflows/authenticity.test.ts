// Sender authenticity end to end: posts over SMTP from 127.0.0.1, SPF/DKIM/DMARC looked up on a real DNS
// server on loopback, the Authentication-Results members receive, and the spoofed-member rule.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Headers } from '@zone-eu/mailsplit';
import { createDnsResolver, type DnsResolver } from '../../activities/dns.js';
import { splitHeaderBlock } from '../../mail/message.js';
import { startDnsServer, startSilentDnsServer, type DnsServer } from '../helpers/dns-server.js';
import { dkimKey, message, signed, type SigningKey } from '../helpers/sender-domains.js';
import type { Received } from '../helpers/smtp-recorder.js';
import { createList, queuedId, sendRaw, subscribe, useStack, waitForState } from '../helpers/stack.js';
import { devServerAddress } from '../helpers/temporal.js';
import { runCli } from '../cli/run-cli.js';

/** The list domain createList uses, and so the authserv-id listflow must record results under. */
const AUTHSERV = 'lists.example';

function authResults(raw: Buffer): string[] {
  return new Headers(splitHeaderBlock(raw).header).get('authentication-results').map((l) => l.replace(/\r?\n[ \t]+/g, ' '));
}

function copyFor(received: Received[], address: string): Received {
  const copy = received.find((r) => r.to.includes(address));
  assert.ok(copy, `${address} received the post`);
  return copy;
}

/** A resolver the stack can be given before the DNS server it uses has started. */
function lateResolver(): { resolver: DnsResolver; set(r: DnsResolver): void } {
  let current: DnsResolver | undefined;
  return {
    resolver: (name, rrtype) => (current ? current(name, rrtype) : Promise.reject(new Error('the test DNS server is not started'))),
    set: (r) => (current = r),
  };
}

describe('sender authenticity against a DNS server on loopback', () => {
  let dns: DnsServer;
  let senderKey: SigningKey;
  const late = lateResolver();
  before(async () => {
    const key = dkimKey('sender.test');
    senderKey = key.key;
    dns = await startDnsServer({
      // sender.test sends from this host and signs; victim.test sends from elsewhere and asks for rejection.
      'sender.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      ...key.record,
      '_dmarc.sender.test': { TXT: ['v=DMARC1; p=reject'] },
      'victim.test': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
      '_dmarc.victim.test': { TXT: ['v=DMARC1; p=reject'] },
      // plain.test publishes nothing: nothing can be said for or against its mail.
    });
    late.set(createDnsResolver({ servers: [dns.address], timeoutMs: 3000 }));
  });
  after(async () => dns?.close());
  const env = useStack({ dns: late.resolver });

  it('passes a signed, aligned member post; members get our Authentication-Results with spf, dkim and dmarc pass', async () => {
    // sender.test asks for p=reject, which munges From by default, and the default subject prefix changes the
    // Subject: both off, since this test checks that every header line of the sender arrives byte for byte.
    const list = await createList(env.stack.db, ['hold_spoofed_members=true', 'dmarc_mitigate_action=no_mitigation', 'subject_prefix=']);
    await subscribe(env.stack.db, list, ['alice@sender.test', 'member@elsewhere.test']);
    const raw = await signed(await message({ from: 'Alice <alice@sender.test>', to: list, subject: 'signed' }), senderKey);
    const id = queuedId(await sendRaw(env.stack.smtpPort, 'alice@sender.test', [list], raw));
    const status = await waitForState(env.stack.client, id, ['delivered', 'held']);
    assert.equal(status.state, 'delivered', status.decision.summary);
    assert.ok(status.auth, 'the status carries the results');
    assert.deepEqual(
      { spf: status.auth.spf.result, dkim: status.auth.dkim.result, dmarc: status.auth.dmarc.result, arc: status.auth.arc.result },
      { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' },
    );
    assert.equal(status.auth.authservId, AUTHSERV);
    assert.equal(status.auth.spf.clientIp, '127.0.0.1');
    assert.equal(status.auth.spf.domain, 'sender.test');
    assert.deepEqual(status.auth.dkim.signatures, [{ domain: 'sender.test', selector: 'sel', result: 'pass', aligned: true }]);
    assert.equal(status.auth.dmarc.dkimAligned, 'sender.test');
    assert.equal(status.auth.dmarc.spfAligned, 'sender.test');
    assert.ok(status.decision.misses.includes('spoofed-member'));

    await env.recorder.waitFor((r) => r.some((m) => m.to.includes('member@elsewhere.test')));
    const copy = copyFor(env.recorder.received, 'member@elsewhere.test').raw;
    const ours = authResults(copy);
    assert.equal(ours.length, 1);
    assert.match(ours[0] ?? '', new RegExp(`^Authentication-Results: ${AUTHSERV}; dkim=pass header\\.i=@sender\\.test .*; spf=pass .*smtp\\.mailfrom=alice@sender\\.test.*; dmarc=pass .*header\\.from=sender\\.test`));
    assert.ok(copy.toString('latin1').startsWith('Authentication-Results: '), 'ours is the topmost header');
    // The sender's message is untouched below the headers listflow adds: body and every header line byte for byte.
    const sent = splitHeaderBlock(raw);
    const got = splitHeaderBlock(copy);
    assert.ok(got.body.equals(sent.body), 'the body is byte-identical');
    for (const line of new Headers(sent.header).getList()) assert.ok(got.header.includes(Buffer.from(line.line, 'binary')), `kept: ${line.line.slice(0, 40)}`);
  });

  it('holds a forged member post (unsigned, SPF fails for 127.0.0.1) when hold_spoofed_members is on, with the reason', async () => {
    const list = await createList(env.stack.db, ['hold_spoofed_members=true']);
    await subscribe(env.stack.db, list, ['bob@victim.test', 'member@elsewhere.test']);
    const raw = await message({ from: 'Bob <bob@victim.test>', to: list, subject: 'forged' });
    const id = queuedId(await sendRaw(env.stack.smtpPort, 'bob@victim.test', [list], raw));
    const status = await waitForState(env.stack.client, id, ['held', 'delivered']);
    assert.equal(status.state, 'held');
    assert.equal(status.decision.hits[0]?.rule, 'spoofed-member');
    assert.match(status.decision.summary, /^From is the member bob@victim\.test, but it fails DMARC for victim\.test .*spf=fail, dkim=none/);
    assert.deepEqual([status.auth?.spf.result, status.auth?.dkim.result, status.auth?.dmarc.result], ['fail', 'none', 'fail']);
    // What a moderator sees with `listflow status`: the rule's reason and the results behind it.
    const shown = await runCli({ DATABASE_URL: env.stack.database.url, TEMPORAL_ADDRESS: devServerAddress() }, ['status', id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^\s*authenticity\s+spf=fail \(victim\.test\) dkim=none dmarc=fail \(victim\.test\) arc=none$/m);
    await env.stack.client.workflow.getHandle(id).terminate('test finished');
  });

  it('delivers the same forged post when hold_spoofed_members is off, with the failures recorded for members to see', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['bob@victim.test', 'carol@elsewhere.test']);
    const raw = await message({ from: 'Bob <bob@victim.test>', to: list, subject: 'forged, list not guarding' });
    const id = queuedId(await sendRaw(env.stack.smtpPort, 'bob@victim.test', [list], raw));
    const status = await waitForState(env.stack.client, id, ['held', 'delivered']);
    assert.equal(status.state, 'delivered');
    assert.ok(status.decision.misses.includes('spoofed-member'));
    await env.recorder.waitFor((r) => r.some((m) => m.to.includes('carol@elsewhere.test')));
    const [ours] = authResults(copyFor(env.recorder.received, 'carol@elsewhere.test').raw);
    assert.match(ours ?? '', /dkim=none .*spf=fail .*dmarc=fail/);
  });

  it('does not hold a member whose domain publishes nothing (spf=none, dmarc=none)', async () => {
    const list = await createList(env.stack.db, ['hold_spoofed_members=true']);
    await subscribe(env.stack.db, list, ['carol@plain.test']);
    const raw = await message({ from: 'carol@plain.test', to: list, subject: 'no records' });
    const id = queuedId(await sendRaw(env.stack.smtpPort, 'carol@plain.test', [list], raw));
    const status = await waitForState(env.stack.client, id, ['held', 'delivered']);
    assert.equal(status.state, 'delivered', status.decision.summary);
    assert.deepEqual([status.auth?.spf.result, status.auth?.dkim.result, status.auth?.dmarc.result], ['none', 'none', 'none']);
  });

  it('removes an incoming Authentication-Results that claims our authserv-id, and keeps other servers\' ones', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['bob@victim.test', 'dave@elsewhere.test']);
    const raw = await message({
      from: 'Bob <bob@victim.test>',
      to: list,
      subject: 'forged results',
      headers: {
        'Authentication-Results': `${AUTHSERV.toUpperCase()} (forged); spf=pass smtp.mailfrom=forged@evil.test; dmarc=pass`,
        'X-Before': 'kept',
      },
    });
    // A second forged copy with a version token, and an honest one from another server on the way.
    const withMore = Buffer.concat([
      Buffer.from(`Authentication-Results: mx.upstream.test; spf=fail smtp.mailfrom=bob@victim.test\r\nAuthentication-Results: ${AUTHSERV} 1;\r\n dkim=pass header.d=evil.test\r\n`),
      raw,
    ]);
    const id = queuedId(await sendRaw(env.stack.smtpPort, 'bob@victim.test', [list], withMore));
    await waitForState(env.stack.client, id, ['delivered']);
    await env.recorder.waitFor((r) => r.some((m) => m.to.includes('dave@elsewhere.test')));
    const copy = copyFor(env.recorder.received, 'dave@elsewhere.test').raw;
    const all = authResults(copy);
    const claimingOurs = all.filter((l) => /^Authentication-Results: lists\.example\b/i.test(l));
    assert.equal(claimingOurs.length, 1, all.join('\n'));
    assert.match(claimingOurs[0] ?? '', /spf=fail/);
    assert.ok(!copy.includes('forged@evil.test') && !copy.includes('header.d=evil.test'), 'the forged results are gone');
    assert.ok(all.some((l) => l.startsWith('Authentication-Results: mx.upstream.test; spf=fail')), "another server's results are kept");
  });
});

describe('sender authenticity when the DNS server never answers', () => {
  let silent: DnsServer;
  const late = lateResolver();
  const TIMEOUT_MS = 1000;
  before(async () => {
    silent = await startSilentDnsServer();
    late.set(createDnsResolver({ servers: [silent.address], timeoutMs: TIMEOUT_MS }));
  });
  after(async () => silent?.close());
  const env = useStack({ dns: late.resolver });

  it('records temperror within the timeout, and the post still gets a verdict', async () => {
    const list = await createList(env.stack.db, ['hold_spoofed_members=true']);
    await subscribe(env.stack.db, list, ['alice@sender.test', 'erin@elsewhere.test']);
    const { key } = dkimKey('sender.test');
    const raw = await signed(await message({ from: 'alice@sender.test', to: list, subject: 'dns is down' }), key);
    const started = Date.now();
    const id = queuedId(await sendRaw(env.stack.smtpPort, 'alice@sender.test', [list], raw));
    const status = await waitForState(env.stack.client, id, ['delivered', 'held', 'discarded', 'rejected']);
    const elapsed = Date.now() - started;
    assert.deepEqual([status.auth?.spf.result, status.auth?.dkim.result, status.auth?.dmarc.result], ['temperror', 'temperror', 'temperror']);
    // A DNS outage is nobody's forgery: the member's post goes through, with the outage on record.
    assert.equal(status.state, 'delivered', status.decision.summary);
    assert.ok(silent.queries.includes('TXT sender.test') && silent.queries.includes('TXT sel._domainkey.sender.test'), silent.queries.join(', '));
    // Three lookups (SPF, DKIM key, DMARC), each given up after TIMEOUT_MS, plus the workflow's own steps.
    assert.ok(elapsed < 3 * TIMEOUT_MS + 10_000, `took ${elapsed} ms`);
    await env.recorder.waitFor((r) => r.some((m) => m.to.includes('erin@elsewhere.test')));
    const [ours] = authResults(copyFor(env.recorder.received, 'erin@elsewhere.test').raw);
    assert.match(ours ?? '', /dkim=temperror .*spf=temperror .*dmarc=temperror/);
  });
});
