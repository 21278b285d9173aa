// `listflow held [<list>]`: posts waiting for a moderator, found through Temporal visibility.
import { normalizeAddress, addressKey } from '../mail/address.js';
import { ListflowSender, statusQuery, type PostStatus } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { clean, json, table, truncate, when } from './output.js';

/** Each status query waits for a worker; without one, fall back to what visibility knows. */
const QUERY_TIMEOUT_MS = 5000;
const PARALLEL_QUERIES = 8;

export interface HeldPost {
  workflowId: string;
  list: string;
  sender: string;
  subject: string;
  receivedAt: string;
  heldUntil: string | null;
  reason: string;
}

export function heldQuery(list?: string): string {
  const base = `ListflowKind='post' AND ListflowState='held' AND ExecutionStatus='Running'`;
  return list ? `${base} AND ListflowList='${list}'` : base;
}

function listAddress(text: string): string {
  let address: string;
  try {
    address = addressKey(normalizeAddress(text));
  } catch (err) {
    throw new CliError(`"${text}" is not a list address: ${(err as Error).message}`);
  }
  // Visibility queries quote with '; an address that needs escaping cannot be a list's.
  if (/['\\]/.test(address)) throw new CliError(`"${text}" is not a list address`);
  return address;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

export async function held(ctx: Context, listText: string | undefined, opts: { json?: boolean }): Promise<void> {
  const list = listText === undefined ? undefined : listAddress(listText);
  const { client, connection } = await ctx.temporal();
  const found: { workflowId: string; sender: string; startTime: Date }[] = [];
  for await (const wf of client.workflow.list({ query: heldQuery(list) })) {
    found.push({ workflowId: wf.workflowId, sender: wf.typedSearchAttributes.get(ListflowSender) ?? '', startTime: wf.startTime });
  }
  const posts = await mapLimit(found, PARALLEL_QUERIES, async (wf): Promise<HeldPost | null> => {
    let status: PostStatus;
    try {
      status = await connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => client.workflow.getHandle(wf.workflowId).query(statusQuery));
    } catch {
      return { workflowId: wf.workflowId, list: wf.workflowId.split('/')[1] ?? '', sender: wf.sender, subject: '(no answer from a worker)', receivedAt: wf.startTime.toISOString(), heldUntil: null, reason: '' };
    }
    // Visibility lags the workflow a little: one decided a moment ago is not held any more.
    if (status.state !== 'held') return null;
    return {
      workflowId: wf.workflowId,
      list: status.list,
      sender: status.sender ?? status.envelopeFrom,
      subject: status.subject,
      receivedAt: status.receivedAt,
      heldUntil: status.heldUntil,
      reason: status.decision.summary,
    };
  });
  const heldPosts = posts.filter((p): p is HeldPost => p !== null).sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  if (opts.json) {
    ctx.out(json(heldPosts));
    return;
  }
  if (heldPosts.length === 0) {
    ctx.out(`no held posts${list ? ` on ${list}` : ''}\n`);
    return;
  }
  ctx.out(
    table(
      ['ID', 'SENDER', 'SUBJECT', 'RECEIVED'],
      heldPosts.map((p) => [p.workflowId, truncate(clean(p.sender), 40), truncate(clean(p.subject), 50), when(p.receivedAt)]),
    ),
  );
}
