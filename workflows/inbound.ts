// Mail to a list's other addresses: -owner is forwarded, -request and friends answered (-bounces: workflows/bounce.ts).
import { patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OutboundActivities } from '../activities/index.js';
import { EMAIL_COMMANDS_PATCH, runEmailCommands } from './commands.js';
import { endsFailed, failureReason, tellOwners } from './failure.js';
import { ListflowState, mailStatusQuery, type InboundMail, type MailStatus } from './messages.js';

export function tracker(mail: InboundMail, kind: string) {
  const status: MailStatus = {
    workflowId: workflowInfo().workflowId,
    kind,
    state: 'received',
    list: mail.list,
    sender: mail.envelopeFrom || null,
    subject: '',
    messageId: '',
    receivedAt: mail.receivedAt,
    detail: '',
    updatedAt: new Date().toISOString(),
  };
  setHandler(mailStatusQuery, () => status);
  const finish = (state: string, detail: string): MailStatus => {
    status.state = state;
    status.detail = detail;
    status.updatedAt = new Date().toISOString();
    upsertSearchAttributes([{ key: ListflowState, value: state }]);
    return status;
  };
  return {
    status,
    finish,
    /**
     * A step failed for good: `failed` with the reason (status and ListflowState), one notice to the owners,
     * and the workflow completes. Errors that are not an activity's failure (or workflows from before the
     * failed state) are thrown on, as before.
     */
    async failed(err: unknown, deliveryTaskQueue: string): Promise<MailStatus> {
      if (!endsFailed(err)) throw err;
      const reason = failureReason(err);
      finish('failed', reason);
      const told = await tellOwners(deliveryTaskQueue, { list: mail.list, workflowId: status.workflowId, kind, reason });
      status.detail = `${reason}; ${told}`;
      return status;
    },
  };
}

/** SMTP and mail-store steps of -owner, -request and -bounces mail: a day of retries, then the workflow ends failed. */
export function activities(taskQueue: string) {
  return proxyActivities<OutboundActivities>({
    taskQueue,
    startToCloseTimeout: '5m',
    scheduleToCloseTimeout: '1d',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
}

export async function ownerWorkflow(mail: InboundMail, options: { deliveryTaskQueue: string }): Promise<MailStatus> {
  const t = tracker(mail, 'owner');
  try {
    const result = await activities(options.deliveryTaskQueue).forwardToOwners({ list: mail.list, sha256: mail.sha256, workflowId: t.status.workflowId });
    return t.finish(result.owners.length > 0 ? 'forwarded' : 'kept', result.detail);
  } catch (err) {
    return t.failed(err, options.deliveryTaskQueue);
  }
}

export async function requestWorkflow(mail: InboundMail, options: { deliveryTaskQueue: string }): Promise<MailStatus> {
  const t = tracker(mail, 'request');
  try {
    if (patched(EMAIL_COMMANDS_PATCH)) return await runEmailCommands(mail, options, t);
    // Before email commands: a help reply only (kept so requests started then still replay).
    const result = await activities(options.deliveryTaskQueue).answerRequest({ list: mail.list, sha256: mail.sha256, envelopeFrom: mail.envelopeFrom });
    return t.finish('answered', result.detail);
  } catch (err) {
    return t.failed(err, options.deliveryTaskQueue);
  }
}
