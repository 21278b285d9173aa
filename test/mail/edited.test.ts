// Whether a moderator's edited file can stand in for a held post: a defined answer for every kind of file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editedMessageProblem, normalizeLineEnds } from '../../mail/edited.js';
import { fixture } from '../helpers/fixtures.js';

const LIMIT = 1024 * 1024;
const check = (text: string | Buffer) => editedMessageProblem(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), LIMIT);

describe('editedMessageProblem', () => {
  it('accepts a real message, bare LF line ends, folded headers and 8-bit bodies', () => {
    assert.equal(check(fixture('mail/member-post.eml')), null);
    assert.equal(check('From: a@example.org\nSubject: corrected\n\nbody\n'), null);
    assert.equal(check('From: "A" <a@example.org>\r\nSubject: a long\r\n subject, folded\r\nX-Empty:\r\n\r\nGrüße\r\n'), null);
    assert.equal(check('From: a@example.org\nSubject: only headers, no body'), null);
  });
  it('says what is wrong with files that are not messages', () => {
    const cases: [string | Buffer, string][] = [
      ['', 'is empty'],
      [Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0x01]), 'is binary (it has NUL bytes), not a message'],
      ['\nFrom: a@example.org\nSubject: s\n\nbody', 'does not start with a header block (From:, Subject:, … then a blank line)'],
      [' From: a@example.org\nSubject: s\n\nbody', 'does not start with a header block (From:, Subject:, … then a blank line)'],
      ['From a@example.org Sun Nov 29 10:00:00 2026\nFrom: a@example.org\nSubject: s\n\nbody', 'starts with an mbox "From " line: remove that line (the message starts after it)'],
      ['Just some text without headers.', 'does not start with a header block (From:, Subject:, … then a blank line)'],
      ['From: a@example.org\nSubject: s\nnot a header\n\nbody', 'has a line in its header block that is not a header field (line 3)'],
      ['From: undisclosed\nSubject: s\n\nbody', 'has no From: header with an address'],
      ['Subject: s\n\nbody', 'has no From: header with an address'],
      ['From: a@example.org\nX-Subject: s\n\nSubject: in the body\n', 'has no Subject: header'],
    ];
    for (const [input, problem] of cases) assert.equal(check(input), problem, JSON.stringify(String(input)));
  });
  it('refuses a message larger than the site allows', () => {
    assert.equal(editedMessageProblem(Buffer.from('From: a@example.org\nSubject: s\n\n' + 'x'.repeat(100)), 50), 'is larger than the 50 bytes a message may have');
  });
});

describe('normalizeLineEnds', () => {
  it('makes every line end CRLF and leaves other bytes, 8-bit included, as they were', () => {
    const raw = Buffer.concat([Buffer.from('Subject: s\nFrom: a@b.example\r\n\r\n'), Buffer.from([0xe9, 0xff]), Buffer.from('\nend')]);
    assert.deepEqual(normalizeLineEnds(raw), Buffer.concat([Buffer.from('Subject: s\r\nFrom: a@b.example\r\n\r\n'), Buffer.from([0xe9, 0xff]), Buffer.from('\r\nend')]));
  });
});
