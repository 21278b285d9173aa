// DMARC mitigation as pure functions: which policy counts, what munge_from and wrap_message do to the bytes,
// and the dmarc-mitigation rule; and the DKIM record listflow prints.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Headers } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import { arcInputOf } from '../../activities/signing.js';
import type { AuthSummary } from '../../mail/authenticity.js';
import { dkimDomain, generateDkimKey, zoneLine } from '../../mail/dkim-keys.js';
import { mitigationFor, mungeFrom, policyFromAuth, wrapMessage } from '../../mail/dmarc-mitigation.js';
import { splitHeaderBlock } from '../../mail/message.js';
import { dmarcMitigation } from '../../mail/rules/dmarc-mitigation.js';
import { defaultSettings, type ListSettings } from '../../mail/settings.js';
import { input as ruleInput } from '../helpers/rule-input.js';

const LIST = 'dev@lists.example';

function auth(result: string, fromDomain: string | null, policy: string | null): AuthSummary {
  return {
    authservId: 'lists.example',
    spf: { result: 'pass', domain: null, clientIp: null, helo: null },
    dkim: { result: 'none', signatures: [], more: 0 },
    dmarc: { result: result as AuthSummary['dmarc']['result'], fromDomain, policy, spfAligned: null, dkimAligned: null },
    arc: { result: 'none', instance: null },
    header: 'lists.example; dmarc=pass',
  };
}

function headerLines(raw: Buffer, name: string): string[] {
  return new Headers(splitHeaderBlock(raw).header).get(name);
}

// 8-bit body with a bare LF, a folded Cc and an encoded-word name: all must survive untouched.
const POST = Buffer.from(
  'From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <jm@rej.test>\r\nTo: dev@lists.example\r\nCc: a@b.test,\r\n c@d.test\r\n' +
    'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <1@rej.test>\r\nDKIM-Signature: v=1; d=rej.test; b=abc\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nH\xc3\xa9llo\nbare lf\r\n',
  'latin1',
);

describe('DMARC mitigation', () => {
  it('takes the policy from the verification only when it speaks for the From domain', () => {
    assert.deepEqual(policyFromAuth(auth('fail', 'rej.test', 'reject'), 'rej.test'), { domain: 'rej.test', policy: 'reject' });
    assert.deepEqual(policyFromAuth(auth('pass', 'org.test', 'reject'), 'sub.org.test'), { domain: 'org.test', policy: 'reject' });
    assert.deepEqual(policyFromAuth(auth('none', 'plain.test', null), 'plain.test'), { domain: 'plain.test', policy: 'none' });
    assert.deepEqual(policyFromAuth(auth('temperror', 'x.test', null), 'x.test'), { domain: 'x.test', policy: null });
    assert.deepEqual(policyFromAuth(auth('pass', 'x.test', 'bogus'), 'x.test'), { domain: 'x.test', policy: 'none' });
    assert.equal(policyFromAuth(auth('pass', 'other.test', 'reject'), 'rej.test'), undefined, 'an edited From is looked up again');
    assert.equal(policyFromAuth(auth('pass', 'org.test', 'reject'), 'notorg.test'), undefined);
    assert.equal(policyFromAuth(null, 'rej.test'), undefined);
  });

  it('munges or wraps for quarantine, reject and unknown policies, or always when unconditional', () => {
    const s = (action: ListSettings['dmarc_mitigate_action'], unconditionally = false) => ({ dmarc_mitigate_action: action, dmarc_mitigate_unconditionally: unconditionally });
    assert.equal(mitigationFor(s('munge_from'), { domain: 'x', policy: 'reject' }), 'munge_from');
    assert.equal(mitigationFor(s('wrap_message'), { domain: 'x', policy: 'quarantine' }), 'wrap_message');
    assert.equal(mitigationFor(s('munge_from'), { domain: 'x', policy: null }), 'munge_from');
    assert.equal(mitigationFor(s('munge_from'), { domain: 'x', policy: 'none' }), null);
    assert.equal(mitigationFor(s('munge_from'), undefined), null);
    assert.equal(mitigationFor(s('munge_from', true), undefined), 'munge_from');
    assert.equal(mitigationFor(s('no_mitigation', true), { domain: 'x', policy: 'reject' }), null);
    assert.equal(mitigationFor(s('reject'), { domain: 'x', policy: 'reject' }), null, 'reject is the rule\'s business');
  });

  it('munge_from: an RFC 2047 name "… via dev", the original From in Cc when there is a Reply-To, the rest byte for byte', () => {
    const withReplyTo = Buffer.concat([Buffer.from('Reply-To: other@x.test\r\n'), POST]);
    const out = mungeFrom(withReplyTo, { list: LIST, displayName: 'dev' });
    const [from] = headerLines(out, 'from');
    assert.equal(libmime.decodeWords(from ?? ''), 'From: Jürgen Müller via dev <dev@lists.example>');
    assert.deepEqual(headerLines(out, 'reply-to'), ['Reply-To: other@x.test']);
    assert.deepEqual(headerLines(out, 'cc'), ['Cc: a@b.test,\r\n c@d.test,\r\n =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <jm@rej.test>']);
    for (const kept of ['To: dev@lists.example', 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=', 'DKIM-Signature: v=1; d=rej.test; b=abc']) {
      assert.ok(out.includes(Buffer.from(kept)), kept);
    }
    assert.ok(splitHeaderBlock(out).body.equals(splitHeaderBlock(POST).body));
  });

  it('munge_from: quotes an ASCII name with specials', () => {
    const out = mungeFrom(Buffer.from('From: "Smith, J. \\"Jay\\"" <j@x.test>\r\nSubject: s\r\n\r\nbody\r\n'), { list: LIST, displayName: 'Dev List' });
    assert.deepEqual(headerLines(out, 'from'), ['From: "Smith, J. \\"Jay\\" via Dev List" <dev@lists.example>']);
    assert.deepEqual(headerLines(out, 'reply-to'), ['Reply-To: "Smith, J. \\"Jay\\"" <j@x.test>']);
  });

  it('wrap_message: the original byte for byte in a message/rfc822 part, the list headers and subject outside', async () => {
    const decorated = Buffer.concat([Buffer.from('List-Id: <dev.lists.example>\r\nX-BeenThere: dev@lists.example\r\n'), POST]);
    const out = await wrapMessage(decorated, POST, { list: LIST, displayName: 'dev', wrappedText: 'see the attached post' });
    const at = out.indexOf(POST);
    assert.ok(at > 0);
    const outer = splitHeaderBlock(out).header.toString('latin1');
    assert.match(outer, /^From: =\?UTF-8\?Q\?J=C3=BCrgen_M=C3=BCller_via_dev\?= <dev@lists\.example>\r\n/);
    assert.match(outer, /\r\nReply-To: =\?UTF-8\?Q\?J=C3=BCrgen_M=C3=BCller\?= <jm@rej\.test>\r\n/);
    assert.match(outer, /\r\nSubject: =\?UTF-8\?Q\?Gr=C3=BC=C3=9Fe\?=\r\n/, 'the subject keeps its encoded words');
    assert.match(outer, /\r\nList-Id: <dev\.lists\.example>\r\n/);
    assert.match(outer, /\r\nMessage-ID: <1@rej\.test>\r\n/);
    assert.ok(!outer.includes('DKIM-Signature'));
    assert.ok(out.includes(Buffer.from('see the attached post')));
    assert.match(out.subarray(0, at).toString('latin1'), /Content-Type: message\/rfc822\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: 8bit\r\n\r\n$/);
    // Without the explaining text it is still multipart/mixed, as Mailman's wrapper.
    const bare = await wrapMessage(decorated, POST, { list: LIST, displayName: 'dev' });
    assert.match(splitHeaderBlock(bare).header.toString('latin1'), /\r\nContent-Type: multipart\/mixed; boundary=/);
    assert.ok(bare.includes(POST));
  });

  it('the rule refuses only a known quarantine/reject policy, naming the domain and policy', () => {
    const settings = (extra: Partial<ListSettings>) => ({ ...defaultSettings(), ...extra });
    const base = ruleInput('member-post.eml');
    const from = base.facts.from ?? '';
    const domain = from.split('@')[1] ?? '';
    const check = (s: Partial<ListSettings>, a: AuthSummary | null) => dmarcMitigation.check({ ...base, list: { address: LIST, settings: settings(s) }, auth: a });
    assert.deepEqual(check({ dmarc_mitigate_action: 'reject' }, auth('fail', domain, 'quarantine')), {
      hit: true,
      action: 'reject',
      reason: `${domain} publishes DMARC p=quarantine: posts From a domain whose DMARC policy is reject or quarantine are not accepted by this list; if you think this is wrong, write to the list owner`,
    });
    assert.equal(check({ dmarc_mitigate_action: 'discard', dmarc_moderation_notice: 'No.' }, auth('pass', domain, 'reject')).reason, `${domain} publishes DMARC p=reject: No.`);
    assert.equal(check({ dmarc_mitigate_action: 'reject' }, auth('pass', domain, 'none')).hit, false);
    assert.equal(check({ dmarc_mitigate_action: 'reject' }, auth('temperror', domain, null)).hit, false, 'a DNS failure never refuses');
    assert.equal(check({ dmarc_mitigate_action: 'reject' }, null).hit, false);
    assert.equal(check({ dmarc_mitigate_action: 'munge_from' }, auth('fail', domain, 'reject')).hit, false);
  });
});

describe('DKIM keys and ARC input', () => {
  it('prints the TXT record in strings of at most 255 bytes, and checks domains', () => {
    const key = generateDkimKey('lists.example', 'lf1', 'rsa', 2048);
    const line = zoneLine(key);
    assert.match(line, /^lf1\._domainkey\.lists\.example IN TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+" "[A-Za-z0-9+/=]+"/);
    const strings = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
    assert.ok(strings.every((s) => s.length <= 255));
    assert.equal(strings.join(''), `v=DKIM1; k=rsa; p=${key.publicKey}`);
    assert.equal(dkimDomain('Lists.Example.ORG.'), 'lists.example.org');
    assert.equal(dkimDomain('bücher.example'), 'xn--bcher-kva.example');
    for (const bad of ['', 'example', 'a b.example', 'x..example', '-a.example', '1.2.3.4']) assert.throws(() => dkimDomain(bad), /is not a domain name/, bad);
  });

  it('seals only what arrived with DMARC, DKIM or ARC passing and an intact chain', () => {
    const msg = (ar: string) => Buffer.from(`Authentication-Results: mx.other.test; dkim=pass\r\nAuthentication-Results: ${ar}\r\nFrom: a@b.test\r\n\r\nx\r\n`);
    assert.deepEqual(arcInputOf(msg('lists.example;\r\n dkim=pass header.i=@b.test;\r\n spf=fail;\r\n arc=none;\r\n dmarc=pass'), 'lists.example'), {
      authResults: 'lists.example;\r\n dkim=pass header.i=@b.test;\r\n spf=fail;\r\n arc=none;\r\n dmarc=pass',
      cv: 'none',
    });
    assert.equal(arcInputOf(msg('lists.example; dkim=none; spf=pass; arc=none; dmarc=none'), 'lists.example'), null, 'SPF alone does not count');
    assert.equal(arcInputOf(msg('lists.example; dkim=pass; arc=fail; dmarc=pass'), 'lists.example'), null, 'a broken chain is not continued');
    assert.equal(arcInputOf(msg('lists.example; dkim=fail; arc=pass (i=1); dmarc=fail'), 'lists.example')?.cv, 'pass');
    assert.equal(arcInputOf(msg('other.example; dkim=pass'), 'lists.example'), null, "only listflow's own results count");
  });
});
