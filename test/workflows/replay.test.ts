// Replays a recorded post history (held → approved → delivered) against today's workflow code: determinism guard.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../../workers/index.js';
import { HISTORY_FIXTURE } from '../helpers/history-fixture.js';
import { quietRuntime } from '../helpers/temporal.js';

interface JsonEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  workflowExecutionSignaledEventAttributes?: { signalName: string };
}

function recorded(): { events: JsonEvent[] } {
  return JSON.parse(readFileSync(HISTORY_FIXTURE, 'utf8')) as { events: JsonEvent[] };
}

const activitiesOf = (h: { events: JsonEvent[] }) =>
  h.events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));

describe('replay of a recorded post history', () => {
  it('the fixture is a held post approved by signal and delivered', () => {
    const history = recorded();
    assert.deepEqual(activitiesOf(history), ['classifyPost', 'notifyModerators', 'notifyPoster', 'acceptPost', 'deliverBatch']);
    assert.ok(history.events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'approve'));
    assert.equal(history.events.at(-1)?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('replays with the current workflow code', async () => {
    quietRuntime();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'post-held-approved' }, recorded());
  });

  it('fails on a history the code could not have made (an activity renamed)', async () => {
    quietRuntime();
    const history = recorded();
    const accept = history.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType.name === 'acceptPost');
    assert.ok(accept?.activityTaskScheduledEventAttributes);
    accept.activityTaskScheduledEventAttributes.activityType.name = 'acceptPostRenamed';
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'post-tampered' }, history),
      DeterminismViolationError,
    );
  });
});
