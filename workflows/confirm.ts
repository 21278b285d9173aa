// Mail to <list>-confirm+TOKEN: a moderator's decision on a held post, checked and applied, and the answer.
import { proxyActivities } from '@temporalio/workflow';
import type { CoreActivities, OutboundActivities } from '../activities/index.js';
import { tracker } from './inbound.js';
import type { InboundMail, MailStatus } from './messages.js';

const core = proxyActivities<CoreActivities>({
  startToCloseTimeout: '2m',
  // A moderator's decision by mail is worth an hour of retries; then the reply ends failed and the owners are told.
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 },
});

export async function confirmWorkflow(mail: InboundMail, options: { deliveryTaskQueue: string }): Promise<MailStatus> {
  const t = tracker(mail, 'confirm');
  let outcome: Awaited<ReturnType<typeof core.applyConfirmation>>;
  try {
    outcome = await core.applyConfirmation({
      list: mail.list,
      sha256: mail.sha256,
      envelopeFrom: mail.envelopeFrom,
      token: mail.detail ?? '',
      workflowId: t.status.workflowId,
    });
  } catch (err) {
    return t.failed(err, options.deliveryTaskQueue);
  }
  if (!outcome.reply) return t.finish(outcome.state, outcome.detail);
  const notices = proxyActivities<OutboundActivities>({
    taskQueue: options.deliveryTaskQueue,
    startToCloseTimeout: '5m',
    scheduleToCloseTimeout: '1d',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
  let told: string;
  try {
    const r = await notices.replyToConfirmation({ list: mail.list, ...outcome.reply, ref: `${t.status.workflowId} reply` });
    told = r.skipped ? `no reply: ${r.skipped}` : r.sent.length ? `told ${r.sent.join(', ')}` : `the reply was refused for ${r.failed.join(', ')}`;
  } catch (err) {
    // The decision stands whether or not the answer reaches the moderator.
    told = `the reply could not be sent (${(err as Error).message})`;
  }
  return t.finish(outcome.state, `${outcome.detail}; ${told}`);
}
