// The reminder workflow continues as new when a flood of holds makes its history long, keeping every waiting
// post and the due time. On the dev server: no time needs to pass, and the time-skipping test server was seen to
// hang on signals racing continue-as-new (this test hung a full run there, once).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WaitingPost } from '../../mail/notices.js';
import { decidedPostSignal, heldPostSignal, remindersWorkflowId, type RemindersStatus } from '../../workflows/messages.js';
import type { remindersWorkflow } from '../../workflows/reminders.js';
import { remindersUntil } from '../helpers/reminders.js';
import { createList, useStack } from '../helpers/stack.js';
import { resultWithin } from '../helpers/time-skipping.js';

describe('a reminder workflow under a flood of holds', () => {
  const env = useStack();

  it('continues as new when its history grows long, keeping every waiting post and the due time', async () => {
    const { db, client, taskQueue, deliveryTaskQueue } = env.stack;
    const list = await createList(db, [], 'flood');
    const now = new Date().toISOString();
    const ids = Array.from({ length: 30 }, (_, i) => `post/${list}/${i.toString(16).padStart(16, '0')}`);
    const held = (workflowId: string): WaitingPost => ({ workflowId, sender: 'flood@elsewhere.example', subject: 'spam', heldAt: now, heldUntil: now });
    // As registerHeldPost starts it: with the first hold. The first reminder is due in a year, so none runs here.
    const handle = await client.workflow.signalWithStart<typeof remindersWorkflow, [WaitingPost]>('remindersWorkflow', {
      workflowId: remindersWorkflowId(list),
      taskQueue,
      args: [{ list, deliveryTaskQueue, waiting: [], maxHistory: 40, nextReminderAt: new Date(Date.now() + 365 * 86_400_000).toISOString() }],
      signal: heldPostSignal,
      signalArgs: [held(ids[0] as string)],
    });
    const firstRun = handle.signaledRunId;
    const due = (await remindersUntil(client, list, (s) => s.waiting.length === 1, 'started')).nextReminderAt;
    for (const workflowId of ids.slice(1)) await handle.signal(heldPostSignal, held(workflowId));
    const after = await remindersUntil(client, list, (s) => s.waiting.length === 30, 'all 30 waiting');
    assert.notEqual((await handle.describe()).runId, firstRun, 'a new run took over');
    assert.deepEqual(after.waiting.map((p) => p.workflowId).sort(), [...ids].sort());
    assert.equal(after.nextReminderAt, due, 'the day does not start over');
    for (const workflowId of ids) await handle.signal(decidedPostSignal, { workflowId });
    // With nothing left to remind of, the workflow ends.
    const ended = await resultWithin<RemindersStatus>(client.workflow.getHandle(remindersWorkflowId(list)));
    assert.deepEqual(ended.waiting, []);
  });
});
