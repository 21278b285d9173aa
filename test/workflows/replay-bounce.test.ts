// A bounce received before bounce processing existed (only recorded) still replays with today's bounce workflow,
// which keeps that path behind patched('bounce-processing').
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../workers/index.js';
import { BOUNCE_HISTORY_FIXTURE } from '../helpers/record-bounce-history.js';
import { quietRuntime } from '../helpers/temporal.js';

interface JsonEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  workflowExecutionStartedEventAttributes?: { workflowType: { name: string } };
}

describe('replay of a bounce recorded before bounce processing', () => {
  const history = () => JSON.parse(readFileSync(BOUNCE_HISTORY_FIXTURE, 'utf8')) as { events: JsonEvent[] };

  it('the fixture is the old bounce workflow: one recordInboundBounce, then done', () => {
    const h = history();
    assert.equal(h.events[0]?.workflowExecutionStartedEventAttributes?.workflowType.name, 'bounceWorkflow');
    assert.deepEqual(h.events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : [])), ['recordInboundBounce']);
    assert.equal(h.events.at(-1)?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('replays with the current workflow code', async () => {
    quietRuntime();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'bounce-recorded' }, history());
  });
});
