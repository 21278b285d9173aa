// A held post nobody decides on expires after max_hold_days, on the time-skipping server, and the poster is told.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approveSignal, statusQuery, type PostStatus } from '../../workflows/messages.js';
import { addresses, inState, watchPost } from '../helpers/post-status.js';
import { mailFor } from '../helpers/read-mail.js';
import { createList, subscribe } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';
import { resultWithin, useTimeSkippingStack } from '../helpers/time-skipping.js';

const DAY_MS = 86_400_000;

describe('a held post over days, on the time-skipping server', () => {
  // The unreachable poster's notice is retried for a simulated day: one expected warning per attempt.
  const stack = useTimeSkippingStack((_level, message, meta) => message === 'Activity failed' && /notice deferred for outsider-unreachable-/.test(String(meta?.error)));

  it('is still held after 6 days, expires after max_hold_days=7, and the poster gets an expiry notice', async () => {
    const tag = uniqueName('expiry');
    const list = await createList(stack.database.db, ['max_hold_days=7']);
    const members = addresses(2, tag);
    await subscribe(stack.database.db, list, members);
    const outsider = `outsider-${tag}@elsewhere.example`;
    const { workflowId, handle } = await stack.startPost(list, outsider, 'anyone there?');

    const { status: held } = await watchPost(stack.env.client, workflowId, inState('held'), 'held');
    assert.ok(held.heldUntil, 'a held post says until when');
    assert.equal(Math.round((Date.parse(held.heldUntil) - Date.parse(held.updatedAt)) / DAY_MS), 7);
    // The held notice is out before time moves, so no activity is running while days are skipped.
    await stack.recorder.waitFor(() => mailFor(stack.recorder.received, outsider).length === 1);
    assert.match(mailFor(stack.recorder.received, outsider)[0]?.subject ?? '', /awaits moderator approval/);

    await stack.env.sleep('6 days');
    const sixDaysOn = await handle.query(statusQuery);
    assert.equal(sixDaysOn.state, 'held', 'six days in, the post still waits for a moderator');
    assert.equal(sixDaysOn.decision.moderation, undefined);

    // Waiting for the result lets the server skip the remaining day.
    const final = await resultWithin<PostStatus>(handle);
    assert.equal(final.state, 'expired');
    assert.equal(final.decision.moderation?.action, 'expire');
    assert.equal(final.decision.moderation?.by, 'listflow');
    const waited = Date.parse(final.decision.moderation?.at ?? '') - Date.parse(held.updatedAt);
    assert.ok(waited >= 7 * DAY_MS && waited < 7 * DAY_MS + 3_600_000, `expired after ${(waited / DAY_MS).toFixed(3)} days`);
    assert.deepEqual(final.delivery, { total: 0, sent: 0, failed: 0, pending: 0 });

    const notices = mailFor(stack.recorder.received, outsider);
    assert.equal(notices.length, 2, 'the held notice and the expiry notice');
    const expiry = notices[1];
    assert.match(expiry?.subject ?? '', /expired without moderation/);
    assert.match(expiry?.text ?? '', /waited 7 day\(s\) for a moderator/);
    assert.match(expiry?.text ?? '', /discarded/);
    for (const m of members) assert.deepEqual(mailFor(stack.recorder.received, m), [], `${m} received nothing`);
  });

  it("still waits for a moderator when the poster's server refuses the held notice for days, and is delivered once approved", async () => {
    const tag = uniqueName('unreachable');
    const list = await createList(stack.database.db, ['max_hold_days=7']);
    const members = addresses(2, tag);
    await subscribe(stack.database.db, list, members);
    const outsider = `outsider-${tag}@elsewhere.example`;
    stack.recorder.faults = { rcpt: { [outsider]: 450 } };
    try {
      const { workflowId, handle } = await stack.startPost(list, outsider, 'can you hear me?');
      await watchPost(stack.env.client, workflowId, inState('held'), 'held');

      // Past the notice's one-day limit: the notice is given up, the post is not.
      await stack.env.sleep('2 days');
      const description = await handle.describe();
      assert.equal(description.status.name, 'RUNNING', 'the post outlives its undeliverable notice');
      assert.equal((await handle.query(statusQuery)).state, 'held');

      await handle.signal(approveSignal, { by: 'moderator@owners.example' });
      const final = await resultWithin<PostStatus>(handle);
      assert.equal(final.state, 'delivered');
      assert.deepEqual(final.delivery, { total: 2, sent: 2, failed: 0, pending: 0 });
      for (const m of members) assert.equal(mailFor(stack.recorder.received, m).length, 1, `${m} received the post`);
      assert.deepEqual(mailFor(stack.recorder.received, outsider), [], 'the poster was never reached');
      assert.ok(
        final.notices.some((n) => /^poster \(held\): not sent .*mailbox busy/.test(n)),
        `the status says the held notice was not sent: ${JSON.stringify(final.notices)}`,
      );
    } finally {
      stack.recorder.faults = {};
    }
  });
});
