// Mail to a list's other addresses: -owner is forwarded, -request and friends answered (-bounces: workflows/bounce.ts).
import { proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OutboundActivities } from '../activities/index.js';
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
  return {
    status,
    finish(state: string, detail: string): MailStatus {
      status.state = state;
      status.detail = detail;
      status.updatedAt = new Date().toISOString();
      upsertSearchAttributes([{ key: ListflowState, value: state }]);
      return status;
    },
  };
}

export function activities(taskQueue: string) {
  return proxyActivities<OutboundActivities>({
    taskQueue,
    startToCloseTimeout: '5m',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
}

export async function ownerWorkflow(mail: InboundMail, options: { deliveryTaskQueue: string }): Promise<MailStatus> {
  const t = tracker(mail, 'owner');
  const result = await activities(options.deliveryTaskQueue).forwardToOwners({ list: mail.list, sha256: mail.sha256, workflowId: t.status.workflowId });
  return t.finish(result.owners.length > 0 ? 'forwarded' : 'kept', result.detail);
}

export async function requestWorkflow(mail: InboundMail, options: { deliveryTaskQueue: string }): Promise<MailStatus> {
  const t = tracker(mail, 'request');
  const result = await activities(options.deliveryTaskQueue).answerRequest({ list: mail.list, sha256: mail.sha256, envelopeFrom: mail.envelopeFrom });
  return t.finish('answered', result.detail);
}
