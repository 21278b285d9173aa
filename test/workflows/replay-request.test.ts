// Replays a -request history recorded before email commands (one help reply) against today's requestWorkflow:
// the `email-commands` patch must keep such requests replayable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../workers/index.js';
import { REQUEST_HISTORY_FIXTURE } from '../helpers/history-fixture.js';
import { quietRuntime } from '../helpers/temporal.js';

interface JsonEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  markerRecordedEventAttributes?: { markerName: string };
}

function recorded(): { events: JsonEvent[] } {
  return JSON.parse(readFileSync(REQUEST_HISTORY_FIXTURE, 'utf8')) as { events: JsonEvent[] };
}

describe('replay of a -request history from before email commands', () => {
  it('the fixture is the old help reply: one answerRequest activity, no patch marker', () => {
    const history = recorded();
    const activities = history.events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));
    assert.deepEqual(activities, ['answerRequest']);
    assert.ok(!history.events.some((e) => e.markerRecordedEventAttributes), 'recorded without the email-commands patch');
    assert.equal(history.events.at(-1)?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('replays with the current workflow code', async () => {
    quietRuntime();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'request-help-before-commands' }, recorded());
  });
});
