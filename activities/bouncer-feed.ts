// Hands bounces to the workflows that act on them: a member's bouncer (signal-with-start), or the list's daily
// summary of policy refusals. Used by inbound bounce processing and by delivery (posts and digests).
import type { Client } from '@temporalio/client';
import { classifySmtpRefusal, domainOf, type MemberFailure } from '../mail/bounce-classify.js';
import {
  bounceSignal,
  bouncerWorkflowId,
  ListflowKind,
  ListflowList,
  ListflowState,
  policyNoticeWorkflowId,
  policyRefusalSignal,
  type BounceSignal,
  type BouncerContext,
  type PolicyRefusal,
} from '../workflows/messages.js';
import type { ActivityDeps } from './deps.js';

export interface Queues {
  core: string;
  delivery: string;
  /** Bounce and bouncer workflows: a queue of their own, so a storm of bounces never queues ahead of posts. */
  bounces: string;
}

export function queuesOf(deps: ActivityDeps): Queues {
  if (!deps.taskQueues) throw new Error('this worker was not told its task queues (deps.taskQueues): bounces cannot reach the bouncers');
  return deps.taskQueues;
}

/** Signal-with-start: one atomic call, so a bouncer that is just ending cannot lose the bounce. */
export async function signalBouncer(client: Client, queues: Queues, list: string, address: string, signal: BounceSignal): Promise<void> {
  await client.workflow.signalWithStart('bouncerWorkflow', {
    workflowId: bouncerWorkflowId(list, address),
    taskQueue: queues.bounces,
    args: [{ list: list.toLowerCase(), address, deliveryTaskQueue: queues.delivery }],
    signal: bounceSignal,
    signalArgs: [signal],
    // No sender: the address is in the workflow ID already, and must not show among received mail.
    typedSearchAttributes: [
      { key: ListflowList, value: list.toLowerCase() },
      { key: ListflowKind, value: 'bouncer' },
      { key: ListflowState, value: 'scoring' },
    ],
  });
}

export async function signalPolicyRefusal(client: Client, queues: Queues, list: string, refusal: PolicyRefusal): Promise<void> {
  await client.workflow.signalWithStart('policyNoticeWorkflow', {
    workflowId: policyNoticeWorkflowId(list),
    taskQueue: queues.bounces,
    args: [{ list: list.toLowerCase(), deliveryTaskQueue: queues.delivery }],
    signal: policyRefusalSignal,
    signalArgs: [refusal],
    typedSearchAttributes: [
      { key: ListflowList, value: list.toLowerCase() },
      { key: ListflowKind, value: 'bounce-policy' },
    ],
  });
}

/** Runs `fn` over items, `limit` at a time. */
async function limited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** Member failures to their bouncers, policy refusals to the list's summary; a few RPCs in flight at a time. */
export async function feedFailures(
  client: Client,
  queues: Queues,
  list: string,
  id: string,
  source: BounceSignal['source'],
  failures: MemberFailure[],
  contextOf: (address: string) => BouncerContext | undefined = () => undefined,
): Promise<void> {
  const at = new Date().toISOString();
  await limited(failures, 16, async (f) => {
    if (f.classification === 'policy') {
      await signalPolicyRefusal(client, queues, list, { address: f.address, domain: domainOf(f.address), status: f.status, reason: f.reason, at });
    } else {
      await signalBouncer(client, queues, list, f.address, {
        at,
        permanent: f.classification === 'permanent',
        reason: f.reason,
        source,
        id,
        status: f.status,
        method: f.method,
        ...(contextOf(f.address) ? { context: contextOf(f.address) } : {}),
      });
    }
  });
}

/** 5xx refusals during delivery, as member failures (each a permanent bounce, or a policy refusal). */
export function refusalsOf(failed: { recipient: string; code: number | null; response: string }[]): MemberFailure[] {
  const seen = new Set<string>();
  const out: MemberFailure[] = [];
  for (const f of failed) {
    const key = f.recipient.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(classifySmtpRefusal(f.recipient, f.code, f.response));
  }
  return out;
}
