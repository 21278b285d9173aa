// A bouncer continues as new when its events pile up, keeping the score and the recent events. On the dev server:
// no time needs to pass, and the time-skipping test server was seen to hang on signals racing continue-as-new.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { bouncerWorkflow } from '../../workflows/bouncer.js';
import { bounceSignal, bouncerStatusQuery, bouncerWorkflowId, type BounceSignal, type BouncerStatus } from '../../workflows/messages.js';
import { createList, subscribe, useStack } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

describe('a bouncer with many bounces', () => {
  const env = useStack();

  it('continues as new after many bounces, keeping the score and the recent events', async () => {
    const { db, client, taskQueue, deliveryTaskQueue } = env.stack;
    const list = await createList(db, [], 'bnc');
    const member = `member-${uniqueName('b')}@members.example`;
    await subscribe(db, list, [member]);
    const bounce = (id: string, source: 'inbound' | 'delivery'): BounceSignal => ({ at: new Date().toISOString(), permanent: true, reason: 'x', source, id });
    const handle = await client.workflow.signalWithStart<typeof bouncerWorkflow, [BounceSignal]>('bouncerWorkflow', {
      workflowId: bouncerWorkflowId(list, member),
      taskQueue,
      args: [{ list, address: member, deliveryTaskQueue, maxEventsPerRun: 3 }],
      signal: bounceSignal,
      signalArgs: [bounce('first', 'inbound')],
    });
    const firstRun = handle.signaledRunId;
    for (let i = 0; i < 7; i++) await handle.signal(bounceSignal, bounce(`more-${i}`, 'delivery'));
    const deadline = Date.now() + 30_000;
    let s: BouncerStatus | undefined;
    while (Date.now() < deadline) {
      s = await client.workflow.getHandle(bouncerWorkflowId(list, member)).query(bouncerStatusQuery).catch(() => undefined);
      if (s?.events.length === 8) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(s?.events.length, 8, `eight events (last: ${JSON.stringify(s)})`);
    assert.notEqual((await handle.describe()).runId, firstRun, 'a new run took over');
    assert.equal(s?.score, 1, 'one day, one increment, across runs');
    await handle.terminate('test finished');
  });
});
