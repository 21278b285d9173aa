// Hostile and broken messages: reading facts and running the whole chain gives a defined verdict and never
// throws; reasons stay one clean line whatever the message tried to put in them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChain } from '../../mail/chain.js';
import { stripApproval } from '../../mail/approval.js';
import { readFacts } from '../../mail/message.js';
import { fixture } from '../helpers/fixtures.js';
import { inputFor, input } from '../helpers/rule-input.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function assertClean(v: ReturnType<typeof runChain>): void {
  assert.ok(['accept', 'hold', 'reject', 'discard'].includes(v.action));
  for (const text of [v.summary, ...v.hits.map((h) => h.reason)]) assert.doesNotMatch(text, CONTROL, JSON.stringify(text));
}

/** 20,000 header lines, built here rather than stored: a 700 KB fixture would say no more than this loop. */
function manyHeaders(count: number, tail: string): Buffer {
  const lines = ['From: Flood <flood@example.com>', 'To: dev@lists.example.org', 'Subject: many headers'];
  for (let i = 0; i < count; i++) lines.push(`X-Filler-${i % 50}: ${'v'.repeat(20)} ${i}`);
  lines.push(tail, '', 'body', '');
  return Buffer.from(lines.join('\r\n'));
}

describe('hostile input', () => {
  const settings = ['header_matches+=Subject: subscribe -> hold', 'bounce_matching_headers+=X-Odd: .'];
  for (const file of ['malformed-headers.eml', 'invalid-utf8.eml', 'nul-bytes.eml', 'header-injection.eml']) {
    it(`${file}: a defined verdict, clean reasons, no exception`, () => {
      for (const member of [false, 'default'] as const) {
        const v = runChain(input(file, { member, set: settings }));
        assertClean(v);
      }
      // Stripping an approval from it must not throw either.
      assert.ok(Buffer.isBuffer(stripApproval(fixture(`rules/${file}`))));
    });
  }

  it('malformed headers: no From is a discard, a broken Subject decodes as text', () => {
    const v = runChain(input('malformed-headers.eml'));
    assert.equal(v.action, 'discard');
    assert.deepEqual(v.hits.map((h) => h.rule), ['no-senders']);
    assert.equal(typeof readFacts(fixture('rules/malformed-headers.eml')).subject, 'string');
  });

  it('invalid UTF-8: bytes that are not text become U+FFFD, the sender is still found', () => {
    const f = readFacts(fixture('rules/invalid-utf8.eml'));
    assert.equal(f.to[0], 'dev@lists.example.org');
    assert.ok(f.headers.some((h) => h.name === 'subject' && h.value.includes('\ufffd')));
  });

  it('NUL bytes never reach a reason; a NUL in the Approved: line reads as a space, and the line is removed', () => {
    const v = runChain(input('nul-bytes.eml', { member: 'default', set: ['bounce_matching_headers+=Subject: a'] }));
    assertClean(v);
    assert.deepEqual(v.hits.map((h) => h.rule), ['approved']);
    assert.doesNotMatch(stripApproval(fixture('rules/nul-bytes.eml')).toString('latin1'), /s3cret/);
    const held = runChain(input('nul-bytes.eml', { member: 'default', password: false, set: ['bounce_matching_headers+=Subject: a'] }));
    assert.deepEqual(held.hits.map((h) => h.rule), ['suspicious-header']);
  });

  it('a header injection attempt in a matched header value stays on one line in the reason', () => {
    const v = runChain(input('header-injection.eml', { member: 'default' }));
    assert.equal(v.action, 'hold');
    assert.equal(v.hits[0]?.rule, 'header-match');
    assert.match(v.summary, /x-spam-flag: "YES X-Injected: 1"/);
    assertClean(v);
    const s = runChain(input('header-injection.eml', { member: 'default', set: ['header_matches+=Subject: ^subscribe -> reject'] }));
    assert.equal(s.action, 'reject');
    assert.match(s.summary, /^subject: "subscribe Bcc: victim@example\.com fake body" matches list header_matches/);
    assertClean(s);
  });

  it('20,000 header lines: read and judged in well under a second, the spam flag at the end still found', () => {
    const raw = manyHeaders(20_000, 'X-Spam-Flag: YES');
    const started = performance.now();
    const v = runChain(inputFor(raw, { member: 'default', set: ['header_matches+=X-Filler-7: nomatch', 'bounce_matching_headers+=X-Filler-9: zzz'] }));
    const ms = performance.now() - started;
    assert.deepEqual([v.action, v.hits[0]?.rule], ['hold', 'header-match']);
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('deeply nested and unterminated multiparts give no text part rather than an error', () => {
    let raw = 'From: a@example.com\r\nTo: dev@lists.example.org\r\nSubject: nest\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n';
    for (let i = 1; i < 50; i++) raw += `--b${i - 1}\r\nContent-Type: multipart/mixed; boundary="b${i}"\r\n\r\n`;
    raw += '--b49\r\nContent-Type: text/plain\r\n\r\nApproved: s3cret-Pass\r\n';
    const f = readFacts(Buffer.from(raw));
    assert.deepEqual(f.textLines, [], 'the text part is deeper than anything real mail has');
    assertClean(runChain(inputFor(Buffer.from(raw), { member: 'default' })));
  });

  it('an empty message and a message of only garbage bytes', () => {
    for (const raw of [Buffer.alloc(0), Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x3a, 0x0d, 0x0d, 0x0a, 0x00])]) {
      const v = runChain(inputFor(raw));
      assert.equal(v.action, 'discard');
    }
  });
});
