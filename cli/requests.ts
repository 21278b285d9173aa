// `listflow requests [list]`: subscription and unsubscription requests still pending, from Temporal visibility;
// `listflow subscribe|unsubscribe <list> <address>`: start one under the list's policy (an owner's invitation).
import { startSubscriptionRequest } from '../activities/subscriptions.js';
import { ListflowList, ListflowSender, ListflowState, subscriptionStatusQuery, type SubscriptionStatus } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { listAddress, mapLimit } from './held.js';
import { clean, json, table, when } from './output.js';
import { isUnavailable, unreachableMessage } from './temporal.js';

const QUERY_TIMEOUT_MS = 5000;
const PARALLEL_QUERIES = 8;
const PENDING = ['awaiting_confirmation', 'awaiting_approval'];

export interface PendingRequestRow {
  workflowId: string;
  list: string;
  address: string;
  action: string;
  state: string;
  via: string;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string | null;
}

export function requestsQuery(list?: string): string {
  const base = `ListflowKind='subscription' AND ExecutionStatus='Running'`;
  return list ? `${base} AND ListflowList='${list}'` : base;
}

export async function requests(ctx: Context, listText: string | undefined, opts: { json?: boolean }): Promise<void> {
  const list = listText === undefined ? undefined : listAddress(listText);
  const { client, connection } = await ctx.temporal();
  const found: { workflowId: string; list: string; address: string; state: string; startTime: Date }[] = [];
  for await (const wf of client.workflow.list({ query: requestsQuery(list), pageSize: 1000 })) {
    found.push({
      workflowId: wf.workflowId,
      list: wf.typedSearchAttributes.get(ListflowList) ?? '',
      address: wf.typedSearchAttributes.get(ListflowSender) ?? '',
      state: wf.typedSearchAttributes.get(ListflowState) ?? '',
      startTime: wf.startTime,
    });
  }
  const rows = (
    await mapLimit(found, PARALLEL_QUERIES, async (wf): Promise<PendingRequestRow | null> => {
      let s: SubscriptionStatus;
      try {
        s = await connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => client.workflow.getHandle(wf.workflowId).query(subscriptionStatusQuery));
      } catch {
        // No worker answered: what visibility knows.
        return { workflowId: wf.workflowId, list: wf.list, address: wf.address, action: '?', state: wf.state, via: '?', requestedBy: '?', requestedAt: wf.startTime.toISOString(), expiresAt: null };
      }
      // Visibility lags a little: a request decided a moment ago is not pending any more.
      if (!PENDING.includes(s.state)) return null;
      return { workflowId: s.workflowId, list: s.list, address: s.address, action: s.action, state: s.state, via: s.via, requestedBy: s.requestedBy, requestedAt: s.requestedAt, expiresAt: s.expiresAt };
    })
  )
    .filter((r): r is PendingRequestRow => r !== null)
    .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  if (opts.json) {
    ctx.out(json(rows));
    return;
  }
  if (rows.length === 0) {
    ctx.out(`no pending requests${list ? ` on ${list}` : ''}\n`);
    return;
  }
  ctx.out(
    table(
      ['ID', 'ACTION', 'STATE', 'VIA', 'REQUESTED', 'EXPIRES'],
      rows.map((r) => [clean(r.workflowId), r.action, r.state.replace('awaiting_', 'awaits '), `${r.via}${r.requestedBy !== r.address && r.requestedBy !== '?' ? ` (${clean(r.requestedBy)})` : ''}`, when(r.requestedAt), when(r.expiresAt)]),
    ),
  );
}

/** An owner starts a request for an address: the address confirms (an invitation), a moderator approves if the policy says so. */
async function start(ctx: Context, action: 'subscribe' | 'unsubscribe', listText: string, address: string, opts: { digest?: boolean }): Promise<number> {
  const { client } = await ctx.temporal();
  let r;
  try {
    r = await startSubscriptionRequest(await ctx.db(), client, { taskQueue: ctx.config.taskQueue, deliveryTaskQueue: ctx.config.deliveryTaskQueue }, {
      list: listText,
      address,
      action,
      via: 'cli',
      requestedBy: ctx.actor,
      requestedAt: new Date().toISOString(),
      ...(action === 'subscribe' && opts.digest ? { deliveryMode: 'mime_digest' as const } : {}),
    });
  } catch (err) {
    if (isUnavailable(err)) throw new CliError(unreachableMessage(ctx.config));
    throw err;
  }
  if (r.outcome === 'refused') throw new CliError(r.detail);
  ctx.out(`${r.outcome === 'pending' ? 'pending' : 'started'}: ${r.detail}${r.workflowId ? ` (${r.workflowId})` : ''}\n`);
  return 0;
}

export const subscribeCommand = (ctx: Context, list: string, address: string, opts: { digest?: boolean }) => start(ctx, 'subscribe', list, address, opts);
export const unsubscribeCommand = (ctx: Context, list: string, address: string) => start(ctx, 'unsubscribe', list, address, {});
