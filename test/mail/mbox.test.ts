// mbox reading and writing and subject normalization, without a database: the conventions the archive relies on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseSubject, messageIds } from '../../mail/archive.js';
import { asctime, mboxrdEntry, splitMbox } from '../../mail/mbox.js';

describe('mbox', () => {
  it('writes asctime dates with a space-padded day, as From_ lines have them', () => {
    assert.equal(asctime(new Date('2026-11-02T04:05:06Z')), 'Mon Nov  2 04:05:06 2026');
  });

  it('writes mboxrd: CRLF to LF, every >*From line quoted once more, a blank line after', () => {
    const raw = Buffer.from('Subject: x\r\n\r\nFrom here\r\n>From there\r\nFromage\r\nno newline at end', 'latin1');
    assert.equal(
      mboxrdEntry(raw, 'a@example.com', new Date('2026-01-05T10:00:00Z')).toString('latin1'),
      'From a@example.com Mon Jan  5 10:00:00 2026\nSubject: x\n\n>From here\n>>From there\nFromage\nno newline at end\n\n',
    );
  });

  it('reads back what it writes, and keeps an unquoted "From " body line without a date in its message', () => {
    const one = mboxrdEntry(Buffer.from('Subject: a\n\nFrom me\n>From you\n\n', 'latin1'), 'a@x', new Date(0));
    const two = mboxrdEntry(Buffer.from('Subject: b\n\nbody\n', 'latin1'), '', new Date(0));
    const stray = Buffer.from('From x@y Thu Jan  1 00:00:00 1970\nSubject: c\n\nhi\n\nFrom the sea we came\nstill c\n', 'latin1');
    const entries = splitMbox(Buffer.concat([one, two, stray]));
    assert.deepEqual(entries.map((e) => e.raw.toString('latin1')), ['Subject: a\n\nFrom me\n>From you\n\n', 'Subject: b\n\nbody\n', 'Subject: c\n\nhi\n\nFrom the sea we came\nstill c\n']);
    assert.deepEqual(entries.map((e) => e.envelopeSender), ['a@x', 'MAILER-DAEMON', 'x@y']);
    assert.deepEqual(entries.map((e) => e.problem), [null, null, null]);
  });

  it('reports an entry without a header block instead of failing the file', () => {
    const entries = splitMbox(Buffer.from('From a@b Mon Jan  5 10:00:00 2026\nnot a header\n\nFrom a@b Mon Jan  5 10:00:00 2026\n\n', 'latin1'));
    assert.deepEqual(entries.map((e) => [e.line, e.problem]), [[1, 'no header block (the first line is not a header)'], [4, 'empty message']]);
  });

  it('normalizes subjects for threading: Re:, AW:, Fwd:, [list] prefixes and spacing', () => {
    assert.deepEqual(baseSubject('Re: AW: [Dev] Fwd:  Build   fails'), { base: 'build fails', isReply: true });
    assert.deepEqual(baseSubject('[Dev] Build fails'), { base: 'build fails', isReply: false });
    assert.deepEqual(baseSubject('Re[2]: Reply-To munging'), { base: 'reply-to munging', isReply: true });
    assert.deepEqual(messageIds('<a@b> (comment) <c@d>'), ['a@b', 'c@d']);
  });
});
