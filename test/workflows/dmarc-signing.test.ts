// DMARC mitigation, DKIM signing and ARC sealing end to end: posts over SMTP, the senders' DMARC records and
// the list domain's DKIM key (made by the real `listflow domains dkim`) served by a DNS server on loopback,
// and what members receive checked byte by byte and verified by mailauth.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Headers } from '@zone-eu/mailsplit';
import { authenticate, dkimVerify } from 'mailauth';
import { createDnsResolver, type DnsResolver } from '../../activities/dns.js';
import { splitHeaderBlock } from '../../mail/message.js';
import { parseAssignments } from '../../mail/settings.js';
import { createList as storeCreateList, updateSettings } from '../../store/lists.js';
import { runCli } from '../cli/run-cli.js';
import { startDnsServer, type DnsServer, type Zone } from '../helpers/dns-server.js';
import { dkimKey, message, signed, type SigningKey } from '../helpers/sender-domains.js';
import type { Received } from '../helpers/smtp-recorder.js';
import { createList, queuedId, sendRaw, subscribe, useStack, waitForState } from '../helpers/stack.js';
import { devServerAddress, uniqueName } from '../helpers/temporal.js';

function header(raw: Buffer, name: string): string[] {
  return new Headers(splitHeaderBlock(raw).header).get(name.toLowerCase()).map((l) => l.replace(/\r?\n[ \t]+/g, ' '));
}

function lateResolver(): { resolver: DnsResolver; set(r: DnsResolver): void } {
  let current: DnsResolver | undefined;
  return {
    resolver: (name, rrtype) => (current ? current(name, rrtype) : Promise.reject(new Error('the test DNS server is not started'))),
    set: (r) => (current = r),
  };
}

/** The quoted strings of a zone-file TXT line, joined: what a resolver hands out for it. */
function txtOf(line: string): { name: string; value: string } {
  const m = /^(\S+) IN TXT ((?:"[^"]*" ?)+)$/.exec(line.trim());
  assert.ok(m?.[1] && m[2], `a TXT record line: ${line}`);
  const strings = [...m[2].matchAll(/"([^"]*)"/g)].map((x) => x[1] ?? '');
  for (const s of strings) assert.ok(Buffer.byteLength(s) <= 255, 'each string is at most 255 bytes');
  return { name: m[1], value: strings.join('') };
}

describe('DMARC mitigation, DKIM signing and ARC sealing', () => {
  let dns: DnsServer;
  let rejKey: SigningKey;
  let resolver: DnsResolver;
  const late = lateResolver();
  before(async () => {
    const key = dkimKey('rej.test');
    rejKey = key.key;
    const zone: Zone = {
      // Every sender domain lets 127.0.0.1 send, so SPF passes and only the DMARC policy differs.
      'rej.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.rej.test': { TXT: ['v=DMARC1; p=reject'] },
      ...key.record,
      'quar.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.quar.test': { TXT: ['v=DMARC1; p=quarantine'] },
      'none.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.none.test': { TXT: ['v=DMARC1; p=none'] },
      // The organizational domain asks nothing for itself but rejection for its subdomains (sp=).
      'sub.org.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.org.test': { TXT: ['v=DMARC1; p=none; sp=reject'] },
      'plain.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      // The list domains' own policy, so DMARC can pass for a munged From signed by the list.
      '_dmarc.signed.example': { TXT: ['v=DMARC1; p=reject'] },
    };
    dns = await startDnsServer(zone);
    resolver = createDnsResolver({ servers: [dns.address], timeoutMs: 3000 });
    late.set(resolver);
  });
  after(async () => dns?.close());
  const env = useStack({ dns: late.resolver });
  const cliEnv = () => ({ DATABASE_URL: env.stack.database.url });

  /** Posts `raw` from `from` and waits for a final state; returns the status and, if delivered, `member`'s copy. */
  async function postAndRead(list: string, from: string, raw: Buffer, member: string) {
    const id = queuedId(await sendRaw(env.stack.smtpPort, from, [list], raw));
    const status = await waitForState(env.stack.client, id, ['delivered', 'held', 'rejected', 'discarded']);
    if (status.state !== 'delivered') return { status, copy: undefined };
    await env.recorder.waitFor((r) => r.some((m) => m.to.includes(member)));
    const copy = env.recorder.received.find((r: Received) => r.to.includes(member));
    assert.ok(copy);
    return { status, copy: copy.raw };
  }

  /** A list on a domain of its own (createList's lists are all on lists.example). */
  async function listOn(domain: string, settings: string[] = []): Promise<string> {
    const address = `${uniqueName('dev')}@${domain}`;
    await storeCreateList(env.stack.db, address);
    const { changes, problems } = parseAssignments(settings);
    assert.deepEqual(problems, []);
    await updateSettings(env.stack.db, address, changes);
    return address;
  }

  it('munges From for p=reject by default: "Alice via <list>" <list>, the original From in Reply-To, the body untouched', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['alice@rej.test', 'm1@member.test']);
    const raw = await signed(await message({ from: 'Alice Example <alice@rej.test>', to: list, subject: 'munge me' }), rejKey);
    const { status, copy } = await postAndRead(list, 'alice@rej.test', raw, 'm1@member.test');
    assert.equal(status.state, 'delivered', status.decision.summary);
    assert.equal(status.dmarcMitigation, 'munge_from (rej.test p=reject)');
    assert.ok(copy);
    const local = list.split('@')[0];
    assert.deepEqual(header(copy, 'from'), [`From: "Alice Example via ${local}" <${list}>`]);
    assert.deepEqual(header(copy, 'reply-to'), ['Reply-To: Alice Example <alice@rej.test>']);
    assert.deepEqual(header(copy, 'cc'), []);
    assert.ok(splitHeaderBlock(copy).body.equals(splitHeaderBlock(raw).body), 'the body is byte-identical');
    const shown = await runCli({ ...cliEnv(), TEMPORAL_ADDRESS: devServerAddress() }, ['status', status.workflowId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^\s*dmarc\s+members get it with munge_from \(rej\.test p=reject\)$/m);
  });

  it('munges for p=quarantine and puts the original From in Cc when the post has a Reply-To', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['bob@quar.test', 'm2@member.test']);
    const raw = await message({ from: 'bob@quar.test', to: list, subject: 'with reply-to', headers: { 'Reply-To': 'Bob Elsewhere <bob@elsewhere.test>' } });
    const { status, copy } = await postAndRead(list, 'bob@quar.test', raw, 'm2@member.test');
    assert.equal(status.state, 'delivered', status.decision.summary);
    assert.equal(status.dmarcMitigation, 'munge_from (quar.test p=quarantine)');
    assert.ok(copy);
    // No display name: the local part stands in for it, never the whole address.
    assert.deepEqual(header(copy, 'from'), [`From: "bob via ${list.split('@')[0]}" <${list}>`]);
    assert.deepEqual(header(copy, 'reply-to'), ['Reply-To: Bob Elsewhere <bob@elsewhere.test>']);
    assert.deepEqual(header(copy, 'cc'), ['Cc: bob@quar.test']);
  });

  it('falls back to the organizational domain: sub.org.test has no record, org.test says sp=reject', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['carol@sub.org.test', 'm3@member.test']);
    const raw = await message({ from: 'Carol <carol@sub.org.test>', to: list, subject: 'from a subdomain' });
    const { status, copy } = await postAndRead(list, 'carol@sub.org.test', raw, 'm3@member.test');
    assert.equal(status.state, 'delivered', status.decision.summary);
    assert.equal(status.auth?.dmarc.policy, 'reject');
    assert.equal(status.auth?.dmarc.fromDomain, 'org.test');
    assert.ok(dns.queries.includes('TXT _dmarc.sub.org.test') && dns.queries.includes('TXT _dmarc.org.test'), dns.queries.join(', '));
    assert.equal(status.dmarcMitigation, 'munge_from (org.test p=reject)');
    assert.ok(copy);
    assert.deepEqual(header(copy, 'reply-to'), ['Reply-To: Carol <carol@sub.org.test>']);
  });

  it('leaves From alone for p=none and for a domain with no DMARC record', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['dan@none.test', 'erin@plain.test', 'm4@member.test']);
    for (const from of ['dan@none.test', 'erin@plain.test']) {
      const raw = await message({ from: `Someone <${from}>`, to: list, subject: `from ${from}` });
      const id = queuedId(await sendRaw(env.stack.smtpPort, from, [list], raw));
      const status = await waitForState(env.stack.client, id, ['delivered', 'held', 'rejected', 'discarded']);
      assert.equal(status.state, 'delivered', status.decision.summary);
      assert.equal(status.dmarcMitigation, undefined);
      await env.recorder.waitFor((r) => r.some((m) => m.to.includes('m4@member.test') && m.raw.includes(Buffer.from(`from ${from}`))));
      const copy = env.recorder.received.find((m) => m.to.includes('m4@member.test') && m.raw.includes(Buffer.from(`from ${from}`)));
      assert.deepEqual(header(copy?.raw ?? Buffer.alloc(0), 'from'), [`From: Someone <${from}>`]);
      assert.deepEqual(header(copy?.raw ?? Buffer.alloc(0), 'reply-to'), []);
    }
  });

  it('dmarc_mitigate_action=reject refuses p=reject posts at classification and passes p=none ones', async () => {
    const list = await createList(env.stack.db, ['dmarc_mitigate_action=reject']);
    await subscribe(env.stack.db, list, ['alice@rej.test', 'dan@none.test', 'm5@member.test']);
    const refused = await postAndRead(list, 'alice@rej.test', await message({ from: 'alice@rej.test', to: list, subject: 'refused' }), 'm5@member.test');
    assert.equal(refused.status.state, 'rejected');
    const hit = refused.status.decision.hits.find((h) => h.rule === 'dmarc-mitigation');
    assert.equal(hit?.action, 'reject');
    assert.match(hit?.reason ?? '', /^rej\.test publishes DMARC p=reject: /);
    const passed = await postAndRead(list, 'dan@none.test', await message({ from: 'dan@none.test', to: list, subject: 'passed' }), 'm5@member.test');
    assert.equal(passed.status.state, 'delivered', passed.status.decision.summary);
    assert.ok(passed.status.decision.misses.includes('dmarc-mitigation'));
  });

  it('dmarc_mitigate_action=discard drops a p=quarantine post with the reason recorded (and the list\'s notice)', async () => {
    const list = await createList(env.stack.db, ['dmarc_mitigate_action=discard', 'dmarc_moderation_notice=Use another address, please.']);
    await subscribe(env.stack.db, list, ['bob@quar.test', 'm6@member.test']);
    const { status } = await postAndRead(list, 'bob@quar.test', await message({ from: 'bob@quar.test', to: list, subject: 'dropped' }), 'm6@member.test');
    assert.equal(status.state, 'discarded');
    assert.equal(status.decision.summary, 'quar.test publishes DMARC p=quarantine: Use another address, please.');
  });

  it('wrap_message sends a message From the list with the original, byte for byte and still verifying, inside', async () => {
    // No subject prefix: the wrapper's header lines are compared with the original's.
    const list = await createList(env.stack.db, ['subject_prefix=', 'dmarc_mitigate_action=wrap_message', 'dmarc_wrapped_message_text=Wrapped because of the sender\'s DMARC policy.']);
    await subscribe(env.stack.db, list, ['alice@rej.test', 'm7@member.test']);
    const raw = await signed(await message({ from: 'Alice <alice@rej.test>', to: list, subject: 'wrap me', text: 'Line one.\nLine two.\n' }), rejKey);
    const { status, copy } = await postAndRead(list, 'alice@rej.test', raw, 'm7@member.test');
    assert.equal(status.state, 'delivered', status.decision.summary);
    assert.equal(status.dmarcMitigation, 'wrap_message (rej.test p=reject)');
    assert.ok(copy);
    assert.deepEqual(header(copy, 'from'), [`From: "Alice via ${list.split('@')[0]}" <${list}>`]);
    assert.deepEqual(header(copy, 'reply-to'), ['Reply-To: Alice <alice@rej.test>']);
    assert.deepEqual(header(copy, 'subject'), ['Subject: wrap me']);
    assert.match(header(copy, 'content-type')[0] ?? '', /^Content-Type: multipart\/mixed; boundary=/);
    assert.equal(header(copy, 'list-id').length, 1, 'the wrapper carries the list headers');
    assert.equal(header(copy, 'dkim-signature').length, 0, "the author's signature is not on the wrapper");
    const at = copy.indexOf(raw);
    assert.ok(at > 0, 'the original is inside byte for byte');
    assert.match(copy.subarray(0, at).toString('latin1'), /Content-Type: message\/rfc822\r\n(?:[^\r\n]+\r\n)*\r\n$/);
    assert.ok(copy.includes("Wrapped because of the sender's DMARC policy."));
    const inner = await dkimVerify(copy.subarray(at, at + raw.length), { resolver });
    assert.equal(inner.results[0]?.status.result, 'pass', "the author's signature verifies inside");
  });

  describe('DKIM keys from `listflow domains dkim`', () => {
    it('refuses a second key without --force, and a bad domain, with a clear message and exit 1', async () => {
      const first = await runCli(cliEnv(), ['domains', 'dkim', 'twice.example', '--selector', 'a1']);
      assert.equal(first.code, 0, first.stderr);
      const again = await runCli(cliEnv(), ['domains', 'dkim', 'twice.example', '--selector', 'a2']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^listflow: twice\.example has a DKIM key already \(selector a1, made .*\); --force replaces it$/m);
      assert.equal(again.stdout, '');
      const forced = await runCli(cliEnv(), ['domains', 'dkim', 'twice.example', '--selector', 'a2', '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, /^a2\._domainkey\.twice\.example IN TXT "v=DKIM1; k=rsa; p=/m);
      for (const bad of ['not a domain', 'nodot', 'x-.example', 'a..b.example', 'x.123', 'a_b.example']) {
        const r = await runCli(cliEnv(), ['domains', 'dkim', bad]);
        assert.equal(r.code, 1, `${bad}: ${r.stdout}`);
        assert.match(r.stderr, /is not a domain name/);
      }
      const badBits = await runCli(cliEnv(), ['domains', 'dkim', 'bits.example', '--bits', '1000']);
      assert.equal(badBits.code, 1);
      assert.match(badBits.stderr, /--bits must be one of 1024, 2048, 3072, 4096/);
      const listed = await runCli(cliEnv(), ['domains', 'list']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /^twice\.example {2}selector a2 {2}rsa/m);
      assert.ok(!/PRIVATE KEY/.test(listed.stdout + first.stdout + forced.stdout), 'the private key is never printed');
    });

    for (const mode of ['bulk', 'per-recipient'] as const) {
      it(`signs every ${mode} copy with the list domain's key; mailauth verifies it against the published record`, async () => {
        const domain = `${mode}.signed.example`;
        const made = await runCli(cliEnv(), ['domains', 'dkim', domain, '--selector', 'lf1']);
        assert.equal(made.code, 0, made.stderr);
        const line = made.stdout.split('\n').find((l) => l.includes(' IN TXT '));
        const record = txtOf(line ?? '');
        assert.equal(record.name, `lf1._domainkey.${domain}`);
        dns.zone[record.name] = { TXT: [record.value] };
        const list = await listOn(domain, [`delivery_mode=${mode}`]);
        await subscribe(env.stack.db, list, ['erin@plain.test', `a@${mode}.member.test`, `b@${mode}.member.test`]);
        const raw = await message({ from: 'erin@plain.test', to: list, subject: `signed ${mode}` });
        const id = queuedId(await sendRaw(env.stack.smtpPort, 'erin@plain.test', [list], raw));
        const status = await waitForState(env.stack.client, id, ['delivered', 'held']);
        assert.equal(status.state, 'delivered', status.decision.summary);
        await env.recorder.waitFor((r) => [`a@${mode}.member.test`, `b@${mode}.member.test`].every((a) => r.some((m) => m.to.includes(a))));
        const copies = env.recorder.received.filter((m) => m.to.some((t) => t.endsWith(`@${mode}.member.test`)));
        assert.equal(copies.length, mode === 'bulk' ? 1 : 2);
        for (const copy of copies) {
          const result = await dkimVerify(copy.raw, { resolver });
          const ours = result.results.find((r) => r.signingDomain === domain);
          assert.equal(ours?.status.result, 'pass', JSON.stringify(result.results.map((r) => r.info)));
          const h = /\bh=([^;]+)/.exec((header(copy.raw, 'dkim-signature')[0] ?? '').replace(/\s+/g, ''))?.[1]?.toLowerCase().split(':') ?? [];
          for (const name of ['from', 'subject', 'date', 'message-id', 'to', 'list-id', 'list-unsubscribe', 'list-post', 'list-help', 'list-subscribe', 'list-owner', 'precedence']) {
            assert.ok(h.includes(name), `h= covers ${name}: ${h.join(':')}`);
          }
        }
      });
    }

    it("signs the list's own notices too (a moderator's notice of a held post)", async () => {
      const list = await listOn('bulk.signed.example');
      await subscribe(env.stack.db, list, ['mod@notice.member.test'], 'moderator');
      const id = queuedId(await sendRaw(env.stack.smtpPort, 'stranger@plain.test', [list], await message({ from: 'stranger@plain.test', to: list, subject: 'let me in' })));
      const status = await waitForState(env.stack.client, id, ['held']);
      assert.equal(status.state, 'held');
      await env.recorder.waitFor((r) => r.some((m) => m.to.includes('mod@notice.member.test')));
      const notice = env.recorder.received.find((m) => m.to.includes('mod@notice.member.test'));
      assert.ok(notice);
      const result = await dkimVerify(notice.raw, { resolver });
      assert.equal(result.results.find((r) => r.signingDomain === 'bulk.signed.example')?.status.result, 'pass', JSON.stringify(result.results.map((r) => r.info)));
      await env.stack.client.workflow.getHandle(id).terminate('test finished');
    });

    it('signs with an Ed25519 key (RFC 8463) as well', async () => {
      const made = await runCli(cliEnv(), ['domains', 'dkim', 'ed.signed.example', '--selector', 'ed1', '--algorithm', 'ed25519']);
      assert.equal(made.code, 0, made.stderr);
      const record = txtOf(made.stdout.split('\n').find((l) => l.includes(' IN TXT ')) ?? '');
      assert.match(record.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
      dns.zone[record.name] = { TXT: [record.value] };
      const list = await listOn('ed.signed.example');
      await subscribe(env.stack.db, list, ['erin@plain.test', 'ed@member.test']);
      const { status, copy } = await postAndRead(list, 'erin@plain.test', await message({ from: 'erin@plain.test', to: list, subject: 'ed25519' }), 'ed@member.test');
      assert.equal(status.state, 'delivered');
      assert.ok(copy);
      const result = await dkimVerify(copy, { resolver });
      assert.equal(result.results.find((r) => r.signingDomain === 'ed.signed.example')?.status.result, 'pass', JSON.stringify(result.results.map((r) => r.info)));
    });

    it('ARC-seals a post that arrived signed: mailauth finds arc=pass on the copy, and DMARC passes for the munged From', async () => {
      const made = await runCli(cliEnv(), ['domains', 'dkim', 'arc.signed.example', '--selector', 'arc1']);
      assert.equal(made.code, 0, made.stderr);
      const record = txtOf(made.stdout.split('\n').find((l) => l.includes(' IN TXT ')) ?? '');
      dns.zone[record.name] = { TXT: [record.value] };
      const list = await listOn('arc.signed.example');
      await subscribe(env.stack.db, list, ['alice@rej.test', 'arc@member.test']);
      const raw = await signed(await message({ from: 'Alice <alice@rej.test>', to: list, subject: 'sealed' }), rejKey);
      const { status, copy } = await postAndRead(list, 'alice@rej.test', raw, 'arc@member.test');
      assert.equal(status.state, 'delivered', status.decision.summary);
      assert.equal(status.auth?.dmarc.result, 'pass');
      assert.ok(copy);
      assert.equal(header(copy, 'arc-seal').length, 1);
      assert.match(header(copy, 'arc-authentication-results')[0] ?? '', /^ARC-Authentication-Results: i=1; arc\.signed\.example; dkim=pass .*dmarc=pass/);
      const result = await authenticate(copy, { resolver, ip: '127.0.0.1', helo: 'listflow.test', sender: `x@arc.signed.example`, mta: 'mx.member.test', disableBimi: true });
      assert.equal(result.arc && result.arc.status.result, 'pass', JSON.stringify(result.arc));
      assert.equal(result.dmarc && result.dmarc.status.result, 'pass', 'the munged From aligns with the list\'s signature');
    });

    it('does not ARC-seal a post that arrived unauthenticated, but still signs it', async () => {
      const list = await listOn('arc.signed.example');
      await subscribe(env.stack.db, list, ['erin@plain.test', 'noarc@member.test']);
      const { copy } = await postAndRead(list, 'erin@plain.test', await message({ from: 'erin@plain.test', to: list, subject: 'not sealed' }), 'noarc@member.test');
      assert.ok(copy);
      assert.equal(header(copy, 'arc-seal').length, 0);
      assert.equal(header(copy, 'dkim-signature').length, 1);
    });
  });
});
