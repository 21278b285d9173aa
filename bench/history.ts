// Reads a finished post's timeline from its Temporal history: when it was accepted (ledger snapshot done) and ended.
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

function millis(e: Event): number {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6) : NaN;
}

export interface Timeline {
  /** Workflow start → acceptPost completed: classify, number, decorate, snapshot the recipients. */
  acceptMs: number;
  /** acceptPost completed → workflow completed: every delivery batch. */
  deliverMs: number;
  /** How many deliverBatch activities ran (attempts included). */
  batches: number;
}

export async function timelineOf(handle: WorkflowHandle): Promise<Timeline | undefined> {
  const history = await handle.fetchHistory().catch(() => undefined);
  const events = history?.events ?? [];
  const start = events[0];
  const end = events[events.length - 1];
  if (!start || !end) return undefined;
  const typeOf = new Map<string, string>();
  let accepted: Event | undefined;
  let batches = 0;
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(String(e.eventId), scheduled.activityType?.name ?? '');
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const type = typeOf.get(String(done.scheduledEventId));
      if (type === 'acceptPost') accepted = e;
      if (type === 'deliverBatch') batches += 1;
    }
  }
  if (!accepted) return undefined;
  return { acceptMs: millis(accepted) - millis(start), deliverMs: millis(end) - millis(accepted), batches };
}
