// Replays recorded post histories (held → approved → delivered) against today's workflow code: determinism guard
// for posts started by each earlier version of the post workflow and still running when the code changes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../../workers/index.js';
import { HISTORY_FIXTURE, POST_DNS_FIRST_FIXTURE, POST_FAILED_FIXTURE, POST_LOCAL_STEPS_FIXTURE, POST_REGULAR_STEPS_FIXTURE } from '../helpers/history-fixture.js';
import { quietRuntime } from '../helpers/temporal.js';

interface JsonEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  workflowExecutionSignaledEventAttributes?: { signalName: string };
  markerRecordedEventAttributes?: { markerName: string; details?: Record<string, { payloads?: { data?: string }[] }> };
}

function recorded(file = HISTORY_FIXTURE): { events: JsonEvent[] } {
  return JSON.parse(readFileSync(file, 'utf8')) as { events: JsonEvent[] };
}

/** The patches a history was recorded with (the SDK's core_patch markers carry the patch id). */
function patchesOf(h: { events: JsonEvent[] }): string[] {
  return h.events.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_patch') return [];
    const data = m.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id] : [];
  });
}

const localActivityMarkers = (h: { events: JsonEvent[] }) => h.events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;

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

  it('a post from before local steps (verify, classify, accept, archive, digest as regular activities) replays', async () => {
    const history = recorded(POST_REGULAR_STEPS_FIXTURE);
    const activities = activitiesOf(history);
    for (const name of ['verifySender', 'classifyPost', 'registerHeldPost', 'acceptPost', 'archivePost', 'registerDigestPost', 'deliverBatch']) {
      assert.ok(activities.includes(name), `${name} scheduled as a regular activity`);
    }
    assert.ok(!patchesOf(history).includes('local-steps'));
    assert.equal(localActivityMarkers(history), 0);
    quietRuntime();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'post-regular-steps' }, history);
  });

  it('a post with local steps schedules only SMTP work as regular activities, and replays', async () => {
    const history = recorded(POST_LOCAL_STEPS_FIXTURE);
    assert.ok(patchesOf(history).includes('local-steps'));
    // Notices and delivery run on the delivery queue; the database steps left their results as markers.
    assert.deepEqual([...new Set(activitiesOf(history))].sort(), ['deliverBatch', 'notifyModerators', 'notifyPoster']);
    assert.ok(localActivityMarkers(history) >= 6, `${localActivityMarkers(history)} local activity markers`);
    assert.ok(history.events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'approve'));
    assert.equal(history.events.at(-1)?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    quietRuntime();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'post-local-steps' }, history);
  });

  it('a post with dns-first runs sender verification as a regular activity and acceptance locally, and replays', async () => {
    const history = recorded(POST_DNS_FIRST_FIXTURE);
    assert.ok(patchesOf(history).includes('local-steps'));
    assert.ok(patchesOf(history).includes('dns-first'));
    // Sender verification waits on DNS: a regular activity on the core queue; the database steps stay local.
    assert.deepEqual([...new Set(activitiesOf(history))].sort(), ['deliverBatch', 'notifyModerators', 'notifyPoster', 'verifySender']);
    assert.ok(localActivityMarkers(history) >= 5, `${localActivityMarkers(history)} local activity markers`);
    assert.equal(history.events.at(-1)?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    quietRuntime();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'post-dns-first' }, history);
  });

  it('a post that failed for good (its message missing) completed failed, told the owners once, and replays', async () => {
    const history = recorded(POST_FAILED_FIXTURE);
    assert.ok(patchesOf(history).includes('failed-state'));
    assert.deepEqual(activitiesOf(history), ['verifySender', 'notifyOwnersOfFailure']);
    assert.equal(history.events.at(-1)?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    quietRuntime();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'post-failed' }, history);
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
