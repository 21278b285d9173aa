// Which steps a subscription or unsubscription request goes through under the list's policy (Mailman 3's names).
import { addressKey } from './address.js';
import type { ListSettings, SubscriptionPolicy } from './settings.js';

export interface RequestFacts {
  action: 'subscribe' | 'unsubscribe';
  address: string;
  requestedBy: string;
  preConfirmed?: boolean;
  preApproved?: boolean;
}

export interface RequestSteps {
  policy: SubscriptionPolicy;
  /** The address must confirm with its token (mail reply, `confirm` command or link). */
  confirmation: boolean;
  /** A moderator must approve. */
  approval: boolean;
}

/**
 * open: no step, for a request that comes from the address itself; confirm: the address confirms; moderate: a
 * moderator approves; confirm_then_moderate: both. A request made for another address (a third party, the web
 * form, an owner's invitation) is always confirmed by that address, whatever the policy: nobody is subscribed or
 * unsubscribed on someone else's word. preConfirmed (a one-click token, an owner adding directly) skips the
 * confirmation, preApproved (an owner) the approval.
 */
export function requestSteps(settings: ListSettings, r: RequestFacts): RequestSteps {
  const policy = r.action === 'subscribe' ? settings.subscription_policy : settings.unsubscription_policy;
  const self = addressKey(r.requestedBy) === addressKey(r.address);
  const byPolicy = policy === 'confirm' || policy === 'confirm_then_moderate';
  return {
    policy,
    confirmation: !r.preConfirmed && (byPolicy || !self),
    approval: !r.preApproved && (policy === 'moderate' || policy === 'confirm_then_moderate'),
  };
}

/** What a requester is told when the request started: one line, the same whatever the roster holds. */
export function startedDetail(list: string, address: string, action: 'subscribe' | 'unsubscribe', steps: { confirmation: boolean; approval: boolean }): string {
  if (steps.confirmation) return `a confirmation request has been sent to ${address}; the ${action === 'subscribe' ? 'subscription' : 'unsubscription'} takes effect once it is confirmed`;
  if (steps.approval) return `the request to ${action} ${address} ${action === 'subscribe' ? 'to' : 'from'} ${list} awaits a moderator's approval`;
  return action === 'subscribe' ? `${address} is being subscribed to ${list}` : `${address} is being unsubscribed from ${list}`;
}
