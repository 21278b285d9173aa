// Notice texts: every reason is given, and nothing a sender controls can break a header or the layout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { heldForModerators, rejectedForPoster, reminderForModerators } from '../../mail/notices.js';

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const post = { list: 'dev@lists.example', workflowId: 'post/dev@lists.example/0123456789abcdef', subject: 'hi\r\nBcc: victim@example.com\u0007', sender: 'eve@evil.example\r\nX-Evil: 1' };
const hits = [
  { rule: 'nonmember-moderation', action: 'hold' as const, reason: 'eve is not a member\r\nInjected: yes' },
  { rule: 'max-size', action: 'defer' as const, reason: 'the post is 50 KiB, over the limit of 40 KiB' },
];
const confirm = { approve: 'dev-confirm+aaaa@lists.example', reject: 'dev-confirm+bbbb@lists.example', discard: 'dev-confirm+cccc@lists.example' };

describe('notices', () => {
  it('the moderator notice gives every rule hit and the confirm addresses, with hostile text flattened', () => {
    const n = heldForModerators({ post, hits, summary: 'eve is not a member', days: 7, heldUntil: '2026-12-06T13:00:00.000Z', confirm });
    assert.doesNotMatch(n.subject, /[\r\n]/);
    assert.doesNotMatch(n.subject, CONTROL);
    assert.doesNotMatch(n.text, CONTROL);
    assert.match(n.text, /nonmember-moderation \(hold\): eve is not a member +Injected: yes/);
    assert.match(n.text, /max-size \(defer\): the post is 50 KiB/);
    assert.doesNotMatch(n.text, /^(Bcc|X-Evil|Injected):/m, 'no line of the text starts with injected header text');
    for (const a of Object.values(confirm)) assert.ok(n.text.includes(a));
    assert.match(n.text, /listflow approve post\/dev@lists\.example\/0123456789abcdef/);
  });

  it('without confirm addresses, the notice names the CLI only', () => {
    const n = heldForModerators({ post, hits: [], summary: 'held', days: 7, heldUntil: 'soon', confirm: null });
    assert.doesNotMatch(n.text, /-confirm\+/);
    assert.match(n.text, /  - held/);
  });

  it('the rejection notice gives the reason and what the rules found', () => {
    const n = rejectedForPoster(post, 'spam, sorry\r\nBcc: x', hits);
    assert.match(n.text, /^Reason: spam, sorry +Bcc: x$/m);
    assert.match(n.text, /What the list's rules found:/);
    assert.doesNotMatch(n.text, CONTROL);
  });

  it('the reminder lists each waiting post with its age', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    const waiting = { workflowId: post.workflowId, sender: post.sender, subject: post.subject, heldAt: '2026-11-28T12:00:00Z', heldUntil: '2026-12-05T12:00:00Z' };
    const n = reminderForModerators(post.list, [{ post: waiting, confirm }], now);
    assert.equal(n.subject, 'dev@lists.example: 1 post(s) await moderation');
    assert.match(n.text, /waiting 3 days, expires 2026-12-05T12:00:00Z/);
    assert.doesNotMatch(n.text, CONTROL);
  });
});
