// One subscription or unsubscription request, `subscription/<list>/<address>`: confirmation by the address,
// approval by a moderator, as the list's policy asks; each wait a durable timer of pending_request_days.
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { CoreActivities, OutboundActivities } from '../activities/index.js';
import {
  approveSignal,
  confirmSubscriptionUpdate,
  discardSignal,
  ListflowKind,
  ListflowList,
  ListflowSender,
  ListflowState,
  memberNoticesSignal,
  moderateSubscriptionUpdate,
  rejectSignal,
  subscriptionStatusQuery,
  type ModerationDecision,
  type SubscriptionConfirmation,
  type SubscriptionOptions,
  type SubscriptionRequest,
  type SubscriptionState,
  type SubscriptionStatus,
} from './messages.js';

const DAY_MS = 86_400_000;

// A day of retries for the database; then the request fails with the reason (the address can ask again).
const core = proxyActivities<CoreActivities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1d',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 },
});

function outbound(taskQueue: string) {
  return proxyActivities<OutboundActivities>({
    taskQueue,
    startToCloseTimeout: '5m',
    // A message that cannot be sent for a day is given up; the request's fate does not depend on it.
    scheduleToCloseTimeout: '1d',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
}

type Decision = { action: 'approve' | 'reject' | 'discard'; by: string; reason: string };

export async function subscriptionWorkflow(request: SubscriptionRequest, options: SubscriptionOptions): Promise<SubscriptionStatus> {
  const notices = outbound(options.deliveryTaskQueue);
  const workflowId = workflowInfo().workflowId;
  // The token's ref: new for every request, so a token of an earlier request never confirms this one.
  const requestId = uuid4().replace(/-/g, '').slice(0, 16);
  const status: SubscriptionStatus = {
    workflowId,
    requestId,
    kind: 'subscription',
    state: 'received',
    list: request.list,
    address: request.address,
    action: request.action,
    via: request.via,
    requestedBy: request.requestedBy,
    requestedAt: request.requestedAt,
    policy: '',
    deliveryMode: request.deliveryMode ?? 'regular',
    expiresAt: null,
    confirmed: null,
    moderation: null,
    detail: '',
    notices: [],
    updatedAt: new Date().toISOString(),
  };
  upsertSearchAttributes([
    { key: ListflowList, value: request.list },
    { key: ListflowKind, value: 'subscription' },
    { key: ListflowSender, value: request.address.toLowerCase() },
  ]);

  function setState(state: SubscriptionState, detail: string, expiresAt: string | null = null): void {
    status.state = state;
    status.detail = detail;
    status.expiresAt = expiresAt;
    status.updatedAt = new Date().toISOString();
    upsertSearchAttributes([{ key: ListflowState, value: state }]);
  }

  const pendingNotices: Promise<void>[] = [];
  function notify(what: string, sending: Promise<{ sent: string[]; failed: string[]; skipped?: string }>): void {
    pendingNotices.push(
      sending.then(
        (r) => {
          status.notices.push(r.skipped ? `${what}: not sent (${r.skipped})` : `${what}: ${r.sent.length ? `sent to ${r.sent.join(', ')}` : 'nobody to send to'}${r.failed.length ? `; refused for ${r.failed.join(', ')}` : ''}`);
        },
        (err: Error) => {
          status.notices.push(`${what}: not sent (${err.cause instanceof Error ? err.cause.message : err.message})`);
        },
      ),
    );
  }
  async function finish(state: SubscriptionState, detail: string): Promise<SubscriptionStatus> {
    setState(state, detail);
    await Promise.all(pendingNotices);
    return status;
  }

  let confirmation: SubscriptionConfirmation | undefined;
  let decision: Decision | undefined;
  const waiting = () => status.state === 'awaiting_confirmation' || status.state === 'awaiting_approval';

  /** Why a decision cannot be taken now, or null. approve needs a request awaiting approval; reject and discard any pending one. */
  function decisionProblem(action: string): string | null {
    if (!['approve', 'reject', 'discard'].includes(action)) return 'action must be approve, reject or discard (defer is for posts)';
    if (decision || !waiting()) return `the request is not pending any more (it is ${status.state})`;
    if (action === 'approve' && status.state !== 'awaiting_approval') return `the request awaits the address's confirmation first (it is ${status.state})`;
    return null;
  }
  function decide(d: { action: string; by?: string; reason?: string }): void {
    if (decisionProblem(d.action)) return;
    decision = { action: d.action as Decision['action'], by: d.by || 'unknown', reason: d.reason ?? '' };
  }

  setHandler(subscriptionStatusQuery, () => status);
  setHandler(approveSignal, (arg) => decide({ action: 'approve', by: arg?.by ?? 'signal' }));
  setHandler(rejectSignal, (arg) => decide({ action: 'reject', by: arg?.by ?? 'signal', reason: arg?.reason }));
  setHandler(discardSignal, (arg) => decide({ action: 'discard', by: arg?.by ?? 'signal' }));
  setHandler(
    moderateSubscriptionUpdate,
    async (d: ModerationDecision) => {
      const before = status.state;
      decide(d);
      await condition(() => status.state !== before);
      return status;
    },
    {
      validator: (d: ModerationDecision) => {
        const problem = decisionProblem(d?.action ?? '');
        if (problem) throw ApplicationFailure.nonRetryable(problem, problem.startsWith('action') ? 'BadDecision' : 'NotHeld');
      },
    },
  );
  setHandler(
    confirmSubscriptionUpdate,
    async (c: SubscriptionConfirmation) => {
      confirmation = c;
      status.confirmed = { by: c.by, via: c.via, at: new Date().toISOString() };
      await condition(() => status.state !== 'awaiting_confirmation');
      return status;
    },
    {
      validator: (c: SubscriptionConfirmation) => {
        if (c?.requestId !== requestId) throw ApplicationFailure.nonRetryable('the confirmation is for an earlier request, which is no longer pending', 'OtherRequest');
        if (status.state !== 'awaiting_confirmation' || confirmation || decision) {
          throw ApplicationFailure.nonRetryable(`the request does not await a confirmation any more (it is ${status.state})`, 'NotPending');
        }
      },
    },
  );

  const prepared = await core.prepareSubscription({ request });
  if (!prepared.ok) return finish('refused', prepared.detail);
  status.policy = prepared.policy;
  const waitMs = prepared.days * DAY_MS;
  const verb = request.action === 'subscribe' ? 'subscription' : 'unsubscription';

  /** A moderator's reject or discard (possible at any pending step) ends the request. */
  async function decided(d: Decision): Promise<SubscriptionStatus> {
    status.moderation = { action: d.action, by: d.by, reason: d.reason, at: new Date().toISOString() };
    if (d.action === 'reject') {
      notify('requester', notices.sendRequestRejected({ list: request.list, address: request.address, action: request.action, reason: d.reason }));
      return finish('rejected', `rejected by ${d.by}${d.reason ? `: ${d.reason}` : ''}`);
    }
    return finish('discarded', `discarded by ${d.by}`);
  }

  if (prepared.confirmation) {
    const expiresAt = new Date(Date.now() + waitMs).toISOString();
    await core.recordSubscriptionRequest({ requestId, request, workflowId, expiresAt });
    setState('awaiting_confirmation', `waiting for ${request.address} to confirm`, expiresAt);
    notify('confirmation', notices.sendSubscriptionConfirmation({ request, requestId, expiresAt, days: prepared.days, thenModerated: prepared.approval }));
    if (!(await condition(() => confirmation !== undefined || decision !== undefined, waitMs))) {
      return finish('expired', `not confirmed within ${prepared.days} day(s); nothing changed`);
    }
    if (decision) return decided(decision);
  }

  if (prepared.approval) {
    const expiresAt = new Date(Date.now() + waitMs).toISOString();
    setState('awaiting_approval', `waiting for a moderator to approve the ${verb}`, expiresAt);
    notify('moderators', notices.notifySubscriptionModerators({ request, workflowId, expiresAt, days: prepared.days }));
    if (!(await condition(() => decision !== undefined, waitMs))) {
      status.moderation = { action: 'expire', by: 'listflow', reason: `no moderator acted within ${prepared.days} day(s)`, at: new Date().toISOString() };
      return finish('expired', `no moderator acted within ${prepared.days} day(s); nothing changed`);
    }
    if (decision && decision.action !== 'approve') return decided(decision);
    if (decision) status.moderation = { action: 'approve', by: decision.by, reason: decision.reason, at: new Date().toISOString() };
  }

  const applied = await core.applySubscription({ request, workflowId });
  setState('completed', applied.detail);
  if (applied.changed && prepared.notify) {
    notify(request.action === 'subscribe' ? 'welcome' : 'goodbye', notices.sendMemberMessage({ list: request.list, address: request.address, kind: request.action === 'subscribe' ? 'welcome' : 'goodbye' }));
  }
  await Promise.all(pendingNotices);
  return status;
}

/**
 * `member-notices/<list>`: the welcomes and goodbyes owed after owners added or removed members in bulk. Who is
 * owed one is in the database; this sends them a batch at a time and ends when none is left. Started (or woken)
 * with signal-with-start, so members added while it runs are not missed.
 */
export async function memberNoticesWorkflow(input: { list: string; deliveryTaskQueue: string; sent?: number }): Promise<{ sent: number; failed: number }> {
  const send = proxyActivities<OutboundActivities>({
    taskQueue: input.deliveryTaskQueue,
    startToCloseTimeout: '30m',
    heartbeatTimeout: '2m',
    // Owed notices stay owed in the database: after two days of failures this run ends, and the next bulk change starts another.
    scheduleToCloseTimeout: '2d',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
  let more = true;
  setHandler(memberNoticesSignal, () => void (more = true));
  let sent = input.sent ?? 0;
  let failed = 0;
  // About 1,000 batches (200,000 messages) per run keeps the history far below its limits.
  for (let rounds = 0; more; rounds++) {
    if (rounds >= 1000) await continueAsNew<typeof memberNoticesWorkflow>({ ...input, sent });
    // A signal while the batch runs sets it again: members added meanwhile are sent in the next round.
    more = false;
    const r = await send.sendOwedMemberNotices({ list: input.list });
    sent += r.sent;
    failed += r.failed;
    if (r.remaining > 0) more = true;
  }
  return { sent, failed };
}
