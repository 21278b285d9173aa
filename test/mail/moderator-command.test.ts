// Reading a moderator's command from a reply to a -confirm address.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findModeratorCommand } from '../../mail/moderator-command.js';

describe('moderator commands in replies', () => {
  const cases: [string, string, string, ReturnType<typeof findModeratorCommand>][] = [
    ['subject', 'approve', '', { action: 'approve', reason: '', source: 'subject' }],
    ['subject behind Re: and Fwd:', 'Re: Fwd: DISCARD', 'some text', { action: 'discard', reason: '', source: 'subject' }],
    ['first body line with a reason', 'Re: dev@x: post awaits approval', '\nreject spam, sorry\n\n> quoted notice', { action: 'reject', reason: 'spam, sorry', source: 'body' }],
    ['reject: with a colon', '', 'Reject: off topic', { action: 'reject', reason: 'off topic', source: 'body' }],
    ['quoted lines are not commands', 'Re: notice', '> approve\n> more', null],
    ['a first line that is not a command', 'Re: notice', 'Hello,\napprove', null],
    ['a word that only starts like one', 'approved already?', 'approvement', null],
    ['nothing at all', '', '', null],
  ];
  for (const [what, subject, body, expected] of cases) {
    it(what, () => assert.deepEqual(findModeratorCommand(subject, body), expected));
  }

  it('cleans control characters out of a reason', () => {
    const c = findModeratorCommand('reject bad\u0007 post\u001b[31m', '');
    assert.equal(c?.action, 'reject');
    assert.doesNotMatch(c?.reason ?? '', /[\u0000-\u001f\u007f]/);
    assert.match(c?.reason ?? '', /^bad +post \[31m$/);
  });
});
