// Subscription requests: starting one (mail commands, the web, the CLI), the workflow's database steps, and the
// handler that applies a `subscription` confirmation token.
import { Context } from '@temporalio/activity';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { AddressError, addressKey, normalizeAddress } from '../mail/address.js';
import { clean } from '../mail/message.js';
import { requestSteps, startedDetail } from '../mail/subscription-policy.js';
import { tokenKey } from '../mail/tokens.js';
import type { Db } from '../store/db.js';
import { getList } from '../store/lists.js';
import { DELIVERY_MODES, findMember } from '../store/members.js';
import { addMember, findRequest, recordRequest, removeMember } from '../store/subscriptions.js';
import { claimToken, pruneUsedTokens } from '../store/tokens.js';
import { unsubscriptionOf } from '../store/unsubscriptions.js';
import {
  confirmSubscriptionUpdate,
  ListflowKind,
  ListflowList,
  ListflowSender,
  ListflowState,
  subscriptionStatusQuery,
  subscriptionWorkflowId,
  type SubscriptionRequest,
  type SubscriptionRequestOutcome,
  type SubscriptionStatus,
} from '../workflows/messages.js';
import type { ActivityDeps } from './deps.js';
import type { TokenHandler, TokenResult } from './token-actions.js';

/** How long a confirmation may wait for the workflow to take it before the caller gives up (and may retry). */
const UPDATE_DEADLINE_MS = 30_000;

export interface SubscriptionQueues {
  /** The core task queue, where subscription workflows run. */
  taskQueue: string;
  deliveryTaskQueue: string;
}

const refused = (detail: string): SubscriptionRequestOutcome => ({ outcome: 'refused', detail, workflowId: null });

/**
 * Checks a request and starts its workflow: the one function behind mail commands, the web and the CLI.
 * - an invalid address, an unknown list, a digest on a list without digests: refused with the reason;
 * - subscribe for a member / unsubscribe for a non-member: refused ("already a member", "not a member") when
 *   the requester is the address itself, the CLI, or the roster is public; otherwise (a third party asking about
 *   someone else's address on a list whose roster is private) answered exactly as a started request would be and
 *   nothing is sent, so a stranger cannot learn who is subscribed (Mailman 2.1's private-roster practice);
 * - while a request for the same address runs: 'pending', and no second confirmation mail;
 * - a finished request's ID may be used again.
 * `startedBy` marks who started the workflow, so a retry of the same caller is told 'started', not 'pending'.
 */
export async function startSubscriptionRequest(
  db: Db,
  client: Client,
  queues: SubscriptionQueues,
  input: SubscriptionRequest,
  startedBy?: string,
): Promise<SubscriptionRequestOutcome> {
  const list = await getList(db, input.list);
  if (!list) return refused(`there is no list ${clean(input.list, 254)}`);
  let address: string;
  try {
    address = normalizeAddress(input.address);
  } catch (err) {
    if (err instanceof AddressError) return refused(`cannot ${input.action} ${clean(input.address, 80) || 'an empty address'}: ${clean(err.message, 300)}`);
    throw err;
  }
  if (input.action !== 'subscribe' && input.action !== 'unsubscribe') return refused(`"${clean(String(input.action), 40)}" is neither subscribe nor unsubscribe`);
  if (input.deliveryMode !== undefined && !(DELIVERY_MODES as string[]).includes(input.deliveryMode)) {
    return refused(`"${clean(String(input.deliveryMode), 40)}" is not a delivery mode (${DELIVERY_MODES.join(', ')})`);
  }
  if (input.action === 'subscribe' && input.deliveryMode && input.deliveryMode !== 'regular' && !list.settings.digests_enabled) {
    return refused(`${list.address} does not offer digests`);
  }
  // A display name is kept, never trusted: one line, bounded.
  const displayName = input.displayName ? clean(input.displayName, 100) : undefined;
  const request: SubscriptionRequest = { ...input, list: list.address, address };
  if (displayName) request.displayName = displayName;
  else delete request.displayName;
  const steps = requestSteps(list.settings, request);
  const isMember = (await findMember(db, list.id, address)).some((m) => m.role === 'member');
  const thirdParty = request.via !== 'cli' && addressKey(request.requestedBy) !== addressKey(address);
  const secretRoster = list.settings.member_roster_visibility !== 'public';
  if (request.action === 'subscribe' ? isMember : !isMember) {
    if (thirdParty && secretRoster) return { outcome: 'started', detail: startedDetail(list.address, address, request.action, steps), workflowId: null };
    return refused(request.action === 'subscribe' ? `${address} is already a member of ${list.address}` : `${address} is not a member of ${list.address}`);
  }

  const workflowId = subscriptionWorkflowId(list.address, address);
  try {
    await startSubscriptionWorkflow(client, queues, request, startedBy);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    if (startedBy) {
      // A retry of the call that started it (the activity ran, the answer was lost) started it after all.
      const memo = (await client.workflow.getHandle(workflowId).describe().catch(() => null))?.memo;
      if (memo?.startedBy === startedBy) return { outcome: 'started', detail: startedDetail(list.address, address, request.action, steps), workflowId };
    }
    return { outcome: 'pending', detail: `a request for ${address} is already pending`, workflowId };
  }
  return { outcome: 'started', detail: startedDetail(list.address, address, request.action, steps), workflowId };
}

/**
 * Starts `subscription/<list>/<address>` for a request already checked: one request per address at a time (a
 * running one makes this throw WorkflowExecutionAlreadyStartedError), and a finished one may be asked again.
 */
export async function startSubscriptionWorkflow(client: Client, queues: SubscriptionQueues, request: SubscriptionRequest, startedBy?: string): Promise<void> {
  await client.workflow.start('subscriptionWorkflow', {
    workflowId: subscriptionWorkflowId(request.list, request.address),
    taskQueue: queues.taskQueue,
    args: [request, { deliveryTaskQueue: queues.deliveryTaskQueue }],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    workflowIdConflictPolicy: 'FAIL',
    typedSearchAttributes: [
      { key: ListflowList, value: request.list },
      { key: ListflowKind, value: 'subscription' },
      { key: ListflowState, value: 'received' },
      { key: ListflowSender, value: addressKey(request.address) },
    ],
    ...(startedBy ? { memo: { startedBy } } : {}),
  });
}

export interface PreparedSubscription {
  ok: boolean;
  detail: string;
  policy: string;
  confirmation: boolean;
  approval: boolean;
  days: number;
  /** Send the welcome / goodbye message when it is done. */
  notify: boolean;
}

export interface AppliedSubscription {
  /** Whether the roster changed (only then is a welcome or goodbye sent). */
  changed: boolean;
  detail: string;
}

export function createSubscriptionActivities(deps: ActivityDeps) {
  return {
    /** `requestSubscription`: what the mail command processor calls for subscribe/join/unsubscribe/leave. */
    async requestSubscription(input: { request: SubscriptionRequest; deliveryTaskQueue: string }): Promise<SubscriptionRequestOutcome> {
      const ctx = Context.current();
      const startedBy = `${ctx.info.workflowExecution?.workflowId ?? ctx.info.activityType}/${ctx.info.activityId}`;
      return startSubscriptionRequest(deps.db, ctx.client, { taskQueue: ctx.info.taskQueue, deliveryTaskQueue: input.deliveryTaskQueue }, input.request, startedBy);
    },

    /** The list's policy for this request, and what it takes: read once, when the workflow starts. */
    async prepareSubscription(input: { request: SubscriptionRequest }): Promise<PreparedSubscription> {
      const list = await getList(deps.db, input.request.list);
      if (!list) return { ok: false, detail: `the list ${input.request.list} no longer exists`, policy: '', confirmation: false, approval: false, days: 0, notify: false };
      const steps = requestSteps(list.settings, input.request);
      const subscribe = input.request.action === 'subscribe';
      return {
        ok: true,
        detail: '',
        ...steps,
        days: list.settings.pending_request_days,
        notify: input.request.notify ?? (subscribe ? list.settings.send_welcome_message : list.settings.send_goodbye_message),
      };
    },

    /** Records the pending request under the id its token carries. */
    async recordSubscriptionRequest(input: { requestId: string; request: SubscriptionRequest; workflowId: string; expiresAt: string }): Promise<void> {
      await recordRequest(deps.db, {
        id: input.requestId,
        listAddress: input.request.list,
        address: input.request.address,
        action: input.request.action,
        workflowId: input.workflowId,
        expiresAt: new Date(input.expiresAt),
      });
    },

    /** Adds or removes the member; idempotent, so a retry after a lost answer changes nothing twice. */
    async applySubscription(input: { request: SubscriptionRequest; workflowId: string }): Promise<AppliedSubscription> {
      const r = input.request;
      const list = await getList(deps.db, r.list);
      if (!list) return { changed: false, detail: `the list ${r.list} no longer exists` };
      if (r.action === 'subscribe') {
        const added = await addMember(deps.db, list.id, { address: r.address, displayName: r.displayName ?? null, deliveryMode: r.deliveryMode ?? 'regular' });
        if (added.added) return { changed: true, detail: `${r.address} subscribed to ${list.address}${r.deliveryMode && r.deliveryMode !== 'regular' ? ` (${r.deliveryMode})` : ''}` };
        // Only a retry of this very step (its first attempt added the member, then the answer was lost) counts it.
        if (Context.current().info.attempt === 1) return { changed: false, detail: `${r.address} was already a member of ${list.address}` };
        const { rowCount } = await deps.db.query(`SELECT 1 FROM members WHERE list_id = $1 AND address_key = $2 AND role = 'member' AND created_at >= $3`, [
          list.id,
          addressKey(r.address),
          r.requestedAt,
        ]);
        return rowCount ? { changed: true, detail: `${r.address} subscribed to ${list.address}` } : { changed: false, detail: `${r.address} was already a member of ${list.address}` };
      }
      if (r.removedVerpToken) {
        // One-click: the web handler removed exactly this membership (and recorded it); only the goodbye is left.
        const record = await unsubscriptionOf(deps.db, list.address, r.removedVerpToken);
        return record ? { changed: true, detail: `${record.address} unsubscribed from ${list.address} (${record.via})` } : { changed: false, detail: `no record of that membership ending` };
      }
      const removed = await removeMember(deps.db, list, r.address, r.via);
      if (removed) return { changed: true, detail: `${removed.address} unsubscribed from ${list.address}` };
      if (Context.current().info.attempt === 1) return { changed: false, detail: `${r.address} was not a member of ${list.address}` };
      // A retry of this very step finds the record of the removal its first attempt made.
      const { rows } = await deps.db.query('SELECT 1 FROM unsubscriptions WHERE list_address = $1 AND lower(address) = $2 AND via = $3 AND at >= $4', [
        list.address,
        addressKey(r.address),
        r.via,
        r.requestedAt,
      ]);
      return rows.length > 0 ? { changed: true, detail: `${r.address} unsubscribed from ${list.address}` } : { changed: false, detail: `${r.address} was not a member of ${list.address}` };
    },
  };
}

function confirmedHeadline(s: SubscriptionStatus): string {
  if (s.state === 'completed') {
    if (s.detail.includes('already') || s.detail.includes('not a member')) return `Confirmed, but nothing changed: ${s.detail}.`;
    return s.action === 'subscribe' ? `${s.address} is now subscribed to ${s.list}.` : `${s.address} has been unsubscribed from ${s.list}.`;
  }
  if (s.state === 'awaiting_approval') return `Confirmed: the request to ${s.action} ${s.address} now waits for a list moderator's approval.`;
  return `Confirmed; the request is ${s.state}: ${s.detail}`;
}

/** TOKEN_HANDLERS.subscription: a confirmation by reply, `confirm TOKEN` or the link, handed to the waiting workflow. */
export const confirmSubscriptionToken: TokenHandler = async (deps, client, use): Promise<TokenResult> => {
  const no = (headline: string, ...details: string[]): TokenResult => ({ state: 'refused', headline: `Nothing was done: ${headline}`, details });
  const requestId = use.claims.ref.toString('hex');
  const request = await findRequest(deps.db, requestId);
  if (!request || request.listAddress !== use.list.address || request.action !== use.claims.action) return no('this confirmation names no request of this list.');
  const used = await claimToken(deps.db, {
    tokenKey: tokenKey(use.token),
    kind: 'subscription',
    subject: request.workflowId,
    action: use.claims.action,
    usedBy: use.by,
    claimedBy: use.claimedBy,
    expiresAt: new Date(use.claims.expiresAt * 1000),
  });
  await pruneUsedTokens(deps.db);
  if (used) return no(`this confirmation was already used (${used.usedAt}).`, 'Each confirmation works once.');
  const handle = client.workflow.getHandle(request.workflowId);
  let status: SubscriptionStatus;
  try {
    status = await client.connection.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      handle.executeUpdate(confirmSubscriptionUpdate, { args: [{ requestId, by: use.by, via: use.via }] }),
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return no(`the request for ${request.address} is no longer pending (it expired or was decided).`, 'Ask again if you still want it.');
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    const now = await handle.query(subscriptionStatusQuery).catch(() => null);
    // An earlier attempt of the same caller may have confirmed it before failing to report back.
    if (!(now && now.requestId === requestId && now.confirmed?.by === use.by)) {
      return no(`${(err.cause as Error | undefined)?.message ?? err.message}.`, ...(now ? [`The request is ${now.state}.`] : []));
    }
    status = now;
  }
  return { state: 'applied', headline: confirmedHeadline(status), details: [`Request: ${request.workflowId}`] };
};
