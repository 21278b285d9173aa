// How a post, request or bounce workflow ends when an activity fails for good: a short reason for its status,
// the state `failed`, and one notice to the list owners; the workflow then completes (it does not fail).
import { ActivityFailure, ApplicationFailure, patched, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { OutboundActivities } from '../activities/index.js';

/**
 * Patched so that a workflow that failed before this existed still replays (a query on it replays its history)
 * to the same failure; asked only on the failure path, so other workflows record no marker for it.
 */
export const FAILED_STATE_PATCH = 'failed-state';

const MAX_REASON = 200;

/** An activity that failed for good (non-retryable, or out of attempts or time); not a cancellation or a code bug. */
export function isTerminalFailure(err: unknown): boolean {
  // A regular activity's failure wraps the activity's own; a local one's may come bare.
  return err instanceof ActivityFailure || err instanceof ApplicationFailure || err instanceof TimeoutFailure;
}

/** Whether the failure ends the workflow as `failed` (the patch asked here, on the failure path only). */
export function endsFailed(err: unknown): boolean {
  return isTerminalFailure(err) && patched(FAILED_STATE_PATCH);
}

/** One line, no control characters, at most 200 characters: "MessageMissing: message … (classifyPost)". */
export function failureReason(err: unknown): string {
  let activity = '';
  let failure: unknown = err;
  if (err instanceof ActivityFailure) {
    activity = err.activityType ?? '';
    failure = err.cause ?? err;
  }
  const type = failure instanceof ApplicationFailure ? (failure.type ?? '') : failure instanceof TimeoutFailure ? 'Timeout' : '';
  // activities/failures.ts names the activity in the details (a local activity's failure comes without it).
  const named = failure instanceof ApplicationFailure ? failure.details?.[0] : undefined;
  if (!activity && typeof named === 'string') activity = named;
  const message = failure instanceof Error ? failure.message : String(failure);
  // eslint-disable-next-line no-control-regex
  const text = `${type ? `${type}: ` : ''}${message}${activity ? ` (${activity})` : ''}`.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

/** The owners' notice of a failed workflow: once (the activity keeps a record), retried for a day at most. */
export function failureNotices(deliveryTaskQueue: string) {
  return proxyActivities<OutboundActivities>({
    taskQueue: deliveryTaskQueue,
    startToCloseTimeout: '5m',
    scheduleToCloseTimeout: '1d',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
}

/** What the notice came to, as a line of the workflow's status. */
export async function tellOwners(deliveryTaskQueue: string, input: { list: string; workflowId: string; kind: string; reason: string }): Promise<string> {
  try {
    const r = await failureNotices(deliveryTaskQueue).notifyOwnersOfFailure(input);
    if (r.skipped) return `owners (failed): not sent (${r.skipped})`;
    return `owners (failed): ${r.sent.length ? `sent to ${r.sent.join(', ')}` : 'nobody to send to'}${r.failed.length ? `; refused for ${r.failed.join(', ')}` : ''}`;
  } catch (err) {
    return `owners (failed): not sent (${failureReason(err)})`;
  }
}
