// Reads a finished post's timeline from its Temporal history: when it was accepted (ledger snapshot done) and ended.
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

function millis(e: Event): number {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6) : NaN;
}

export interface Timeline {
  /** Workflow start → first deliverBatch scheduled: verify, classify, number, decorate, snapshot, archive. */
  acceptMs: number;
  /** First deliverBatch scheduled → workflow completed: every delivery batch. */
  deliverMs: number;
  /** How many deliverBatch activities ran (attempts included). */
  batches: number;
}

/**
 * The first delivery batch is scheduled once the post is accepted, whether its steps ran as regular activities
 * (older posts) or as local ones, which leave no scheduled event of their own to time.
 */
export async function timelineOf(handle: WorkflowHandle): Promise<Timeline | undefined> {
  const history = await handle.fetchHistory().catch(() => undefined);
  const events = history?.events ?? [];
  const start = events[0];
  const end = events[events.length - 1];
  if (!start || !end) return undefined;
  const deliverBatches = new Set<string>();
  let accepted: Event | undefined;
  let batches = 0;
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'deliverBatch') {
      deliverBatches.add(String(e.eventId));
      accepted ??= e;
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done && deliverBatches.has(String(done.scheduledEventId))) batches += 1;
  }
  if (!accepted) return undefined;
  return { acceptMs: millis(accepted) - millis(start), deliverMs: millis(end) - millis(accepted), batches };
}
