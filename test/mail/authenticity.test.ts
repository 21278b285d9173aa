// Sender authenticity as pure logic: the spoofed-member rule over result summaries, and the
// Authentication-Results header splice (ours on top, forged ones under our authserv-id gone, the rest untouched).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Headers } from '@zone-eu/mailsplit';
import { addAuthenticationResults, authservIdOf, listAuthservId } from '../../mail/auth-results.js';
import { failedSummary, type AuthResult, type AuthSummary } from '../../mail/authenticity.js';
import { readFacts, splitHeaderBlock } from '../../mail/message.js';
import { spoofedMember } from '../../mail/rules/spoofed-member.js';
import type { RuleInput } from '../../mail/rules/types.js';
import { defaultSettings, parseAssignment, SETTINGS } from '../../mail/settings.js';
import { fixture } from '../helpers/fixtures.js';
import { inputFor } from '../helpers/rule-input.js';

const LIST = 'dev@lists.example.org';

function summary(spf: AuthResult, dkim: AuthResult, dmarc: AuthResult): AuthSummary {
  return {
    authservId: 'lists.example.org',
    spf: { result: spf, domain: 'example.com', clientIp: '198.51.100.7', helo: 'mx.example.com' },
    dkim: { result: dkim, signatures: dkim === 'none' ? [] : [{ domain: 'example.com', selector: 's1', result: dkim, aligned: true }], more: 0 },
    dmarc: { result: dmarc, fromDomain: 'example.com', policy: dmarc === 'none' ? null : 'reject', spfAligned: null, dkimAligned: null },
    arc: { result: 'none', instance: null },
    header: 'lists.example.org; spf=…',
  };
}

function input(o: { member?: boolean; on?: boolean; auth?: AuthSummary | null }): RuleInput {
  const base = inputFor(fixture('mail/member-post.eml'), { member: o.member === false ? false : 'default', settings: { hold_spoofed_members: o.on ?? true } });
  return { ...base, auth: o.auth === undefined ? summary('pass', 'pass', 'pass') : o.auth };
}

describe('spoofed-member', () => {
  const table: { name: string; o: Parameters<typeof input>[0]; hit: boolean; reason: RegExp }[] = [
    { name: 'setting off (the default)', o: { on: false, auth: summary('fail', 'none', 'fail') }, hit: false, reason: /hold_spoofed_members is off/ },
    { name: 'nonmember', o: { member: false, auth: summary('fail', 'none', 'fail') }, hit: false, reason: /From is not a member/ },
    { name: 'not verified', o: { auth: null }, hit: false, reason: /not verified/ },
    { name: 'all pass', o: {}, hit: false, reason: /not contradicted \(spf=pass, dkim=pass, dmarc=pass\)/ },
    { name: 'DMARC fails', o: { auth: summary('pass', 'pass', 'fail') }, hit: true, reason: /^From is the member alice@example\.com, but it fails DMARC for example\.com/ },
    { name: 'SPF fail, unsigned, no DMARC record', o: { auth: summary('fail', 'none', 'none') }, hit: true, reason: /fails both SPF \(spf=fail for 198\.51\.100\.7\) and DKIM \(dkim=none\)/ },
    { name: 'SPF softfail, DKIM fails', o: { auth: summary('softfail', 'fail', 'none') }, hit: true, reason: /fails both SPF \(spf=softfail.*dkim=fail/ },
    { name: 'SPF fail but DKIM pass', o: { auth: summary('fail', 'pass', 'none') }, hit: false, reason: /not contradicted/ },
    { name: 'nothing published', o: { auth: summary('none', 'none', 'none') }, hit: false, reason: /not contradicted/ },
    { name: 'DNS outage', o: { auth: summary('temperror', 'temperror', 'temperror') }, hit: false, reason: /spf=temperror/ },
    { name: 'broken SPF record', o: { auth: summary('permerror', 'none', 'none') }, hit: false, reason: /not contradicted/ },
    { name: 'message mailauth could not read', o: { auth: failedSummary('lists.example.org', 'bad header', null, null) }, hit: true, reason: /could not be verified \(bad header\)/ },
  ];
  for (const row of table) {
    it(`${row.name}: ${row.hit ? 'hits' : 'misses'}`, () => {
      const result = spoofedMember.check(input(row.o));
      assert.equal(result.hit, row.hit, result.reason);
      assert.match(result.reason, row.reason);
    });
  }

  it('is off by default, recommended in its description, and set like any boolean', () => {
    assert.equal(defaultSettings().hold_spoofed_members, false);
    assert.match(SETTINGS.hold_spoofed_members.description, /recommended/);
    assert.deepEqual(parseAssignment('hold_spoofed_members=yes'), { hold_spoofed_members: true });
    assert.throws(() => parseAssignment('hold_spoofed_members=maybe'), /hold_spoofed_members=maybe: must be true or false/);
  });
});

describe('Authentication-Results', () => {
  it('reads the authserv-id past comments, versions and case', () => {
    assert.equal(authservIdOf(' lists.example; spf=pass'), 'lists.example');
    assert.equal(authservIdOf('(relay)\r\n LISTS.Example. 1; dkim=pass'), 'lists.example');
    assert.equal(authservIdOf('mx.other.test;spf=pass'), 'mx.other.test');
    assert.equal(authservIdOf('lists.example.evil.test; spf=pass'), 'lists.example.evil.test');
    assert.equal(listAuthservId('dev@Lists.Example.org'), 'lists.example.org');
  });

  const raw = Buffer.from(
    [
      'Received: from mx.example.com by lists.example.org',
      'Authentication-Results: lists.example.org; spf=pass smtp.mailfrom=forged@evil.test',
      'Authentication-Results: mx.example.com;',
      '\tdkim=pass header.d=example.com',
      'From: alice@example.com',
      'authentication-results: (x) LISTS.EXAMPLE.ORG 1; dmarc=pass',
      'Authentication-Results: lists.example.org.evil.test; spf=pass',
      'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
      '',
      'Body line one\r\n\r\n-- \r\nsig\r\n',
    ].join('\r\n'),
  );

  it('removes results claiming our authserv-id, keeps the others byte for byte, and puts ours on top', () => {
    const out = addAuthenticationResults(raw, 'lists.example.org', 'lists.example.org;\r\n spf=fail smtp.mailfrom=alice@example.com');
    const { header, body } = splitHeaderBlock(out);
    assert.ok(body.equals(splitHeaderBlock(raw).body));
    const text = header.toString('latin1');
    assert.ok(text.startsWith('Authentication-Results: lists.example.org;\r\n spf=fail smtp.mailfrom=alice@example.com\r\nReceived: '), text);
    assert.ok(!text.includes('forged@evil.test') && !text.includes('dmarc=pass'), text);
    assert.ok(text.includes('Authentication-Results: mx.example.com;\r\n\tdkim=pass header.d=example.com\r\n'));
    assert.ok(text.includes('Authentication-Results: lists.example.org.evil.test; spf=pass\r\n'));
    assert.ok(text.includes('Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n'));
    assert.equal(new Headers(header).get('authentication-results').length, 3);
  });

  it('without results of ours, still removes the forged ones', () => {
    const out = addAuthenticationResults(raw, 'lists.example.org', null);
    assert.equal(new Headers(splitHeaderBlock(out).header).get('authentication-results').length, 2);
  });

  it('leaves a message with nothing to remove or add as it was', () => {
    const clean = fixture('mail/member-post.eml');
    assert.equal(addAuthenticationResults(clean, 'lists.example.org', null), clean);
  });

  it('cannot be made to add a header line through its value', () => {
    const out = addAuthenticationResults(raw, 'lists.example.org', 'lists.example.org; spf=pass\r\nBcc: victim@example.net');
    const headers = new Headers(splitHeaderBlock(out).header);
    assert.equal(headers.get('bcc').length, 0);
  });
});
