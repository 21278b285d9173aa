// Reading facts from raw messages, and when listflow must not answer automatically.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noAutoReplyReason, readFacts, splitHeaderBlock } from '../../mail/message.js';
import { fixture } from '../helpers/fixtures.js';

describe('readFacts', () => {
  it('decodes the author and an RFC 2047 subject', () => {
    const f = readFacts(fixture('mail/member-post.eml'));
    assert.equal(f.from, 'alice@example.com');
    assert.equal(f.fromName, 'Alice Example');
    assert.equal(f.subject, 'Grüße aus Berlin');
    assert.equal(f.messageId, '<20261129080000.1234@example.com>');
  });
  it('finds loop markers and list headers', () => {
    const f = readFacts(fixture('mail/looped.eml'));
    assert.deepEqual(f.beenThere, ['dev@lists.example.org']);
    assert.equal(f.precedence, 'list');
  });
  it('gives null for a message without From', () => {
    assert.equal(readFacts(fixture('mail/no-from.eml')).from, null);
  });
  it('survives a message with no body and bare LF line ends', () => {
    const f = readFacts(Buffer.from('From: x@example.com\nSubject: only headers'));
    assert.equal(f.from, 'x@example.com');
    assert.equal(f.subject, 'only headers');
  });
  it('strips control characters from what it reports (no header injection into notices)', () => {
    const f = readFacts(Buffer.from('From: x@example.com\r\nSubject: =?UTF-8?Q?a=0D=0ABcc:_evil@example.com?=\r\n\r\n'));
    assert.doesNotMatch(f.subject, /[\r\n]/);
  });
});

describe('splitHeaderBlock', () => {
  it('keeps the body bytes exactly', () => {
    const raw = fixture('mail/member-post.eml');
    const { header, body } = splitHeaderBlock(raw);
    assert.equal(Buffer.concat([header, body]).equals(raw), true);
    assert.match(body.toString(), /^Hallo Liste/);
  });
});

describe('noAutoReplyReason', () => {
  it('refuses to answer automatic mail, lists and null senders', () => {
    assert.match(noAutoReplyReason(readFacts(fixture('mail/auto-reply.eml')), 'x@example.net') ?? '', /Auto-Submitted/);
    assert.match(noAutoReplyReason(readFacts(fixture('mail/looped.eml')), 'bob@example.net') ?? '', /Precedence: list/);
    assert.match(noAutoReplyReason(readFacts(fixture('mail/member-post.eml')), '') ?? '', /null/);
    assert.equal(noAutoReplyReason(readFacts(fixture('mail/member-post.eml')), 'alice@example.com'), null);
  });
});
