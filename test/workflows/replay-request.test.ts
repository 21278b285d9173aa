// Replays a -request history recorded before email commands (one help reply) against today's requestWorkflow:
// the `email-commands` patch must keep such requests replayable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../workers/index.js';
import { REQUEST_COMMANDS_HISTORY_FIXTURE, REQUEST_HISTORY_FIXTURE } from '../helpers/history-fixture.js';
import { quietRuntime } from '../helpers/temporal.js';

interface JsonEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  markerRecordedEventAttributes?: { markerName: string };
}

function recorded(file = REQUEST_HISTORY_FIXTURE): { events: JsonEvent[] } {
  return JSON.parse(readFileSync(file, 'utf8')) as { events: JsonEvent[] };
}

const activitiesOf = (h: { events: JsonEvent[] }) =>
  h.events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));

describe('replay of a -request history from before email commands', () => {
  it('the fixture is the old help reply: one answerRequest activity, no patch marker', () => {
    const history = recorded();
    assert.deepEqual(activitiesOf(history), ['answerRequest']);
    assert.ok(!history.events.some((e) => e.markerRecordedEventAttributes), 'recorded without the email-commands patch');
    assert.equal(history.events.at(-1)?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('replays with the current workflow code', async () => {
    quietRuntime();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'request-help-before-commands' }, recorded());
  });
});

describe('replay of a -request history with email commands', () => {
  it('the fixture read the commands, asked for a subscription once (the repeat was skipped) and replied', () => {
    const history = recorded(REQUEST_COMMANDS_HISTORY_FIXTURE);
    assert.deepEqual(activitiesOf(history), ['readCommands', 'requestSubscription', 'sendCommandReply']);
    assert.ok(history.events.some((e) => e.markerRecordedEventAttributes), 'recorded with the email-commands patch');
    assert.equal(history.events.at(-1)?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('replays with the current workflow code', async () => {
    quietRuntime();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'request-commands' }, recorded(REQUEST_COMMANDS_HISTORY_FIXTURE));
  });
});
