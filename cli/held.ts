// `listflow held [<list>] [--from <pattern>] [--summary]`: posts waiting for a moderator, found through Temporal visibility.
import type { Client } from '@temporalio/client';
import { normalizeAddress, addressKey } from '../mail/address.js';
import { parseAddressPattern, PatternError, type AddressPattern } from '../mail/patterns.js';
import { ListflowList, ListflowSender, statusQuery, type ModeratorNote, type PostStatus } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { clean, count, json, table, truncate, when } from './output.js';

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
  /** Moderators' defer notes. */
  notes: ModeratorNote[];
}

export function heldQuery(list?: string, sender?: string): string {
  const base = `ListflowKind='post' AND ListflowState='held' AND ExecutionStatus='Running'`;
  const onList = list ? `${base} AND ListflowList='${list}'` : base;
  return sender ? `${onList} AND ListflowSender='${sender}'` : onList;
}

/** A --from pattern (an address, or ^regex); a bad one is the user's error, said in one line. */
export function senderPattern(text: string): AddressPattern {
  try {
    return parseAddressPattern(text);
  } catch (err) {
    if (err instanceof PatternError) throw new CliError(`--from: ${err.message}`);
    throw err;
  }
}

/** What visibility alone says of a held post: enough to count and filter by sender without asking a worker. */
export interface HeldEntry {
  workflowId: string;
  list: string;
  /** ListflowSender: the From address, lower-case (set when the post was classified, before it was held). */
  sender: string;
  startTime: Date;
}

/**
 * Held posts as visibility lists them, optionally on one list and from matching senders. An exact address
 * is also filtered by Temporal (ListflowSender), so a flood elsewhere is not even fetched; a ^regex is
 * tested here, on the attribute.
 */
export async function findHeld(client: Client, list?: string, pattern?: AddressPattern): Promise<HeldEntry[]> {
  const exact = pattern && !pattern.text.startsWith('^') && !/['\\]/.test(pattern.text) ? pattern.text.toLowerCase() : undefined;
  const found: HeldEntry[] = [];
  for await (const wf of client.workflow.list({ query: heldQuery(list, exact), pageSize: 1000 })) {
    const sender = wf.typedSearchAttributes.get(ListflowSender) ?? '';
    if (pattern && !pattern.test(sender)) continue;
    const onList = wf.typedSearchAttributes.get(ListflowList) ?? wf.workflowId.split('/')[1] ?? '';
    found.push({ workflowId: wf.workflowId, list: onList, sender, startTime: wf.startTime });
  }
  return found;
}

export function listAddress(text: string): string {
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

export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
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

export interface HeldOptions {
  json?: boolean;
  /** Only posts from senders matching this address or ^regex. */
  from?: string;
  /** Counts per list instead of the posts. */
  summary?: boolean;
}

/**
 * Held posts per list, from visibility alone: one listing, no worker asked, so thousands take a moment.
 * Not `count … GROUP BY ListflowList`: Temporal groups counts by ExecutionStatus only (checked on the dev server).
 */
async function summary(ctx: Context, client: Client, list: string | undefined, pattern: AddressPattern | undefined, opts: HeldOptions): Promise<void> {
  const perList = new Map<string, number>();
  for (const wf of await findHeld(client, list, pattern)) perList.set(wf.list, (perList.get(wf.list) ?? 0) + 1);
  const lists = [...perList.entries()].map(([address, n]) => ({ list: address, held: n })).sort((a, b) => b.held - a.held || a.list.localeCompare(b.list));
  const total = lists.reduce((sum, l) => sum + l.held, 0);
  if (opts.json) {
    ctx.out(json({ total, lists }));
    return;
  }
  if (total === 0) {
    ctx.out(`no held posts${list ? ` on ${list}` : ''}${pattern ? ` from ${pattern.text}` : ''}\n`);
    return;
  }
  ctx.out(table(['LIST', 'HELD'], [...lists.map((l) => [l.list, String(l.held)]), ['total', String(total)]]));
}

export async function held(ctx: Context, listText: string | undefined, opts: HeldOptions): Promise<void> {
  const list = listText === undefined ? undefined : listAddress(listText);
  const pattern = opts.from === undefined ? undefined : senderPattern(opts.from);
  const { client, connection } = await ctx.temporal();
  if (opts.summary) return summary(ctx, client, list, pattern, opts);
  const found = await findHeld(client, list, pattern);
  const posts = await mapLimit(found, PARALLEL_QUERIES, async (wf): Promise<HeldPost | null> => {
    let status: PostStatus;
    try {
      status = await connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => client.workflow.getHandle(wf.workflowId).query(statusQuery));
    } catch {
      return { workflowId: wf.workflowId, list: wf.list, sender: wf.sender, subject: '(no answer from a worker)', receivedAt: wf.startTime.toISOString(), heldUntil: null, reason: '', notes: [] };
    }
    // Visibility lags the workflow a little: one decided a moment ago is not held any more.
    if (status.state !== 'held') return null;
    if (pattern && !pattern.test(status.sender ?? status.envelopeFrom)) return null;
    return {
      workflowId: wf.workflowId,
      list: status.list,
      sender: status.sender ?? status.envelopeFrom,
      subject: status.subject,
      receivedAt: status.receivedAt,
      heldUntil: status.heldUntil,
      reason: status.decision.summary,
      notes: status.decision.notes ?? [],
    };
  });
  const heldPosts = posts.filter((p): p is HeldPost => p !== null).sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  if (opts.json) {
    ctx.out(json(heldPosts));
    return;
  }
  if (heldPosts.length === 0) {
    ctx.out(`no held posts${list ? ` on ${list}` : ''}${pattern ? ` from ${pattern.text}` : ''}\n`);
    return;
  }
  const lines = table(
    ['ID', 'SENDER', 'SUBJECT', 'RECEIVED'],
    heldPosts.map((p) => [p.workflowId, truncate(clean(p.sender), 40), truncate(clean(p.subject), 50), when(p.receivedAt)]),
  ).split('\n');
  // Deferred posts carry their notes on indented lines under their row, so the table stays four columns.
  ctx.out(
    [lines[0], ...heldPosts.flatMap((p, i) => [lines[i + 1], ...p.notes.map((n) => `    ${noteLine(n)}`)])].join('\n') + '\n',
  );
  if (pattern) ctx.out(`${count(heldPosts.length, 'held post')} from ${pattern.text}\n`);
}

/** One defer note as people read it. */
export function noteLine(n: ModeratorNote): string {
  return `deferred by ${clean(n.by)} at ${when(n.at)}${n.note ? `: ${truncate(clean(n.note), 200)}` : ''}`;
}
