// The daily reminder of held posts, over simulated days on the time-skipping server: one a day while posts
// wait, only the posts still waiting, and none once everything is decided (the reminder workflow ends).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../workers/index.js';
import {
  approveSignal,
  discardSignal,
  remindersWorkflowId,
  type RemindersStatus,
} from '../../workflows/messages.js';
import { inState, watchPost } from '../helpers/post-status.js';
import { mailFor } from '../helpers/read-mail.js';
import { remindersUntil } from '../helpers/reminders.js';
import { createList, subscribe } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';
import { resultWithin, useTimeSkippingStack } from '../helpers/time-skipping.js';

describe('daily reminders of held posts, on the time-skipping server', () => {
  const stack = useTimeSkippingStack();

  /** A nonmember's post, started as ingress would, once it is held. */
  async function startHeldPost(list: string, outsider: string, subject: string) {
    const started = await stack.startPost(list, outsider, subject);
    await watchPost(stack.env.client, started.workflowId, inState('held'), 'held');
    return started;
  }

  it('reminds the moderators once a day of the posts still waiting, and ends when none is left', async () => {
    const tag = uniqueName('remind');
    const list = await createList(stack.database.db, ['max_hold_days=7']);
    const moderator = `mod-${tag}@owners.example`;
    const member = `member-${tag}@members.example`;
    await subscribe(stack.database.db, list, [member]);
    await subscribe(stack.database.db, list, [moderator], 'moderator');
    const reminders = () => mailFor(stack.recorder.received, moderator).filter((m) => /await moderation$/.test(m.subject));

    const a = await startHeldPost(list, `first-${tag}@elsewhere.example`, 'first question');
    const b = await startHeldPost(list, `second-${tag}@elsewhere.example`, 'second question');
    await remindersUntil(stack.env.client, list, (s) => s.waiting.length === 2, 'two posts waiting');
    // Every notice is out before time moves, so no activity runs while days are skipped.
    await stack.recorder.waitFor(
      () =>
        mailFor(stack.recorder.received, moderator).length === 2 &&
        mailFor(stack.recorder.received, `first-${tag}@elsewhere.example`).length === 1 &&
        mailFor(stack.recorder.received, `second-${tag}@elsewhere.example`).length === 1,
    );

    // Decided within the day: the first reminder must not list it.
    await a.handle.signal(approveSignal, { by: moderator });
    // Polled by query, not awaited as a result: waiting for a result lets the server skip time.
    await watchPost(stack.env.client, a.workflowId, inState('delivered'), 'delivered');
    await remindersUntil(stack.env.client, list, (s) => s.waiting.length === 1, 'one post waiting');
    assert.deepEqual(reminders(), [], 'no reminder within the first day');

    await stack.env.sleep('25 hours');
    await stack.recorder.waitFor(() => reminders().length === 1);
    const first = reminders()[0];
    assert.match(first?.subject ?? '', /^.*: 1 post\(s\) await moderation$/);
    assert.ok(first?.text.includes(b.workflowId), 'the waiting post is listed by ID');
    assert.ok(!first?.text.includes(a.workflowId), 'the decided post is not');
    assert.match(first?.text ?? '', /From second-.*subject "second question"/);
    assert.match(first?.text ?? '', /waiting \d+ hours/);
    assert.match(first?.text ?? '', /approve: \S+-confirm\+[a-z2-7]+@/);
    assert.match(first?.text ?? '', /listflow approve\|reject\|discard <ID>/);

    await stack.env.sleep('1 day');
    await stack.recorder.waitFor(() => reminders().length === 2);
    const status = await remindersUntil(stack.env.client, list, (s) => s.remindersSent === 2, 'two reminders counted');
    assert.deepEqual(status.waiting.map((p) => p.workflowId), [b.workflowId]);

    await b.handle.signal(discardSignal, { by: moderator });
    await watchPost(stack.env.client, b.workflowId, inState('discarded'), 'discarded');
    const ended = await resultWithin<RemindersStatus>(stack.env.client.workflow.getHandle(remindersWorkflowId(list)));
    assert.deepEqual(ended.waiting, []);
    assert.equal(ended.remindersSent, 2);

    await stack.env.sleep('3 days');
    assert.equal(reminders().length, 2, 'no reminder once nothing waits');
    assert.equal((await stack.env.client.workflow.getHandle(remindersWorkflowId(list)).describe()).status.name, 'COMPLETED');

    // Replay-safe: the finished histories (reminders with signals, timers and activities; a post that told it) replay.
    const bundle = await workflowBundle();
    for (const id of [remindersWorkflowId(list), b.workflowId]) {
      const history = await stack.env.client.workflow.getHandle(id).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: bundle, replayName: id }, history);
    }
  });

  it('starts again for a post held after the last one was decided', async () => {
    const tag = uniqueName('again');
    const list = await createList(stack.database.db, ['max_hold_days=7']);
    const owner = `owner-${tag}@owners.example`;
    await subscribe(stack.database.db, list, [owner], 'owner');
    const first = await startHeldPost(list, `one-${tag}@elsewhere.example`, 'one');
    await remindersUntil(stack.env.client, list, (s) => s.waiting.length === 1, 'one waiting');
    await first.handle.signal(discardSignal, { by: owner });
    await watchPost(stack.env.client, first.workflowId, inState('discarded'), 'discarded');
    const firstRun = await resultWithin<RemindersStatus>(stack.env.client.workflow.getHandle(remindersWorkflowId(list)));
    assert.deepEqual(firstRun.waiting, []);

    const second = await startHeldPost(list, `two-${tag}@elsewhere.example`, 'two');
    const again = await remindersUntil(stack.env.client, list, (s) => s.waiting.length === 1, 'a new run with the new post');
    assert.equal(again.waiting[0]?.workflowId, second.workflowId);
    await stack.recorder.waitFor(() => mailFor(stack.recorder.received, owner).length === 2);
    await stack.env.sleep('25 hours');
    // Owners hear when the list has no moderators.
    await stack.recorder.waitFor(() => mailFor(stack.recorder.received, owner).some((m) => /1 post\(s\) await moderation$/.test(m.subject)));
    await second.handle.signal(approveSignal, { by: owner });
    await watchPost(stack.env.client, second.workflowId, inState('delivered'), 'delivered');
    const ended = await resultWithin<RemindersStatus>(stack.env.client.workflow.getHandle(remindersWorkflowId(list)));
    assert.equal(ended.remindersSent, 1);
  });
});
