// A list's daily reminder of held posts: one workflow per list on a durable timer, ending when nothing waits.
import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { OutboundActivities } from '../activities/index.js';
import type { WaitingPost } from '../mail/notices.js';
import { decidedPostSignal, heldPostSignal, remindersQuery, type RemindersInput, type RemindersStatus } from './messages.js';

const DAY_MS = 86_400_000;
/** Well below Temporal's suggestion (about 4,096 events): a flood of held posts signals a lot. */
const MAX_HISTORY = 2_000;

export async function remindersWorkflow(input: RemindersInput): Promise<RemindersStatus> {
  const waiting = new Map<string, WaitingPost>(input.waiting.map((p) => [p.workflowId, p]));
  const status: RemindersStatus = { list: input.list, waiting: [], remindersSent: input.remindersSent ?? 0, lastReminder: null, nextReminderAt: null };
  const snapshot = (): RemindersStatus => ({ ...status, waiting: [...waiting.values()] });

  setHandler(heldPostSignal, (p) => {
    waiting.set(p.workflowId, p);
  });
  setHandler(decidedPostSignal, ({ workflowId }) => {
    waiting.delete(workflowId);
  });
  setHandler(remindersQuery, snapshot);

  const notices = proxyActivities<OutboundActivities>({
    taskQueue: input.deliveryTaskQueue,
    startToCloseTimeout: '5m',
    // A reminder that cannot go out within hours is superseded by the next day's.
    scheduleToCloseTimeout: '12h',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });

  const tooLong = () => workflowInfo().historyLength > (input.maxHistory ?? MAX_HISTORY) || workflowInfo().continueAsNewSuggested;
  let nextAt = input.nextReminderAt ? Date.parse(input.nextReminderAt) : Date.now() + DAY_MS;
  for (;;) {
    status.nextReminderAt = new Date(nextAt).toISOString();
    // Wakes for the daily reminder, when nothing waits any more, or when a flood of signals made the history long.
    const woken = await condition(() => waiting.size === 0 || tooLong(), Math.max(1, nextAt - Date.now()));
    if (!woken) {
      nextAt = Date.now() + DAY_MS;
      const asked = [...waiting.values()];
      try {
        const r = await notices.sendModerationReminder({ list: input.list, posts: asked });
        // Drop only what the activity found decided; posts held while it ran stay.
        const still = new Set(r.waiting);
        for (const p of asked) if (!still.has(p.workflowId)) waiting.delete(p.workflowId);
        status.remindersSent += r.sent.length > 0 ? 1 : 0;
        status.lastReminder = `${new Date().toISOString()}: ${r.skipped ?? (r.sent.length ? `sent to ${r.sent.join(', ')}` : 'nobody to send to')} (${r.waiting.length} waiting)`;
      } catch (err) {
        status.lastReminder = `${new Date().toISOString()}: not sent (${(err as Error).message})`;
      }
    }
    if (waiting.size === 0) {
      // Signals that came in meanwhile are handled before the decision to end stands.
      await condition(allHandlersFinished);
      if (waiting.size === 0) return snapshot();
      continue;
    }
    if (tooLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof remindersWorkflow>({
        ...input,
        waiting: [...waiting.values()],
        remindersSent: status.remindersSent,
        nextReminderAt: new Date(nextAt).toISOString(),
      });
    }
  }
}
