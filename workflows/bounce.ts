// Mail to <list>-bounces[+verp]: find the member it is about, hand the failure to the member's bouncer (or the
// owners' policy summary), and forward to the owners, with the reason, whatever could not be used.
import { patched, proxyLocalActivities } from '@temporalio/workflow';
import type { CoreActivities, OutboundActivities } from '../activities/index.js';
import { activities, tracker } from './inbound.js';
import type { InboundMail, MailStatus } from './messages.js';

// A local activity: in a storm of bounces each one costs the server a single workflow task, not three. Database
// trouble is retried for six hours; a bounce whose message is gone (or unreadable) fails at once.
const core = proxyLocalActivities<CoreActivities>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '6h',
  localRetryThreshold: '1m',
  retry: { initialInterval: '10s', maximumInterval: '10m', backoffCoefficient: 2 },
});

export async function bounceWorkflow(mail: InboundMail, options: { deliveryTaskQueue: string }): Promise<MailStatus> {
  const t = tracker(mail, 'bounce');
  try {
    return await processBounce(mail, options, t);
  } catch (err) {
    return t.failed(err, options.deliveryTaskQueue);
  }
}

async function processBounce(mail: InboundMail, options: { deliveryTaskQueue: string }, t: ReturnType<typeof tracker>): Promise<MailStatus> {
  const outbound = activities(options.deliveryTaskQueue);
  // Bounces received before bounce processing existed were only recorded; their histories replay that way.
  if (!patched('bounce-processing')) {
    const result = await outbound.recordInboundBounce({ list: mail.list, sha256: mail.sha256, workflowId: t.status.workflowId, detail: mail.detail });
    return t.finish('recorded', result.detail);
  }
  const r = await core.processInboundBounce({ list: mail.list, sha256: mail.sha256, workflowId: t.status.workflowId, ...(mail.detail ? { detail: mail.detail } : {}) });
  if (r.forwardWhy === null) return t.finish(r.state, r.detail);
  const f = await outbound.forwardUncaughtBounce({ list: mail.list, sha256: mail.sha256, workflowId: t.status.workflowId, why: r.forwardWhy });
  return t.finish(f.sent.length > 0 ? 'forwarded' : r.state, `${r.detail}; ${f.detail}`);
}
