// `listflow digest send|status <list>`: the list's digest workflow, through its sendNow update and status query.
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { digestStatusQuery, digestWorkflowId, sendNowUpdate, type DigestStatus } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { requireList } from './lists.js';
import { clean, count, fields, json, when } from './output.js';

/** An issue to a large list takes a while; the update answers once it is sent. */
const SEND_TIMEOUT_MS = 10 * 60_000;
const QUERY_TIMEOUT_MS = 10_000;

/** Whether the digest workflow runs; a closed one (nothing pending, or ended) counts as not running. */
async function running(ctx: Context, id: string): Promise<boolean> {
  const { client } = await ctx.temporal();
  try {
    return (await client.workflow.getHandle(id).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

export async function digestSend(ctx: Context, listText: string): Promise<number> {
  const list = await requireList(ctx, listText);
  const id = digestWorkflowId(list.address);
  // No digest workflow: no post has been accepted for digest members since the last issue.
  if (!(await running(ctx, id))) {
    ctx.out(`${list.address}: nothing to send\n`);
    return 0;
  }
  const { client, connection } = await ctx.temporal();
  try {
    const r = await connection.withDeadline(Date.now() + SEND_TIMEOUT_MS, () => client.workflow.getHandle(id).executeUpdate(sendNowUpdate));
    ctx.out(`${list.address}: ${clean(r.detail)}\n`);
    // An issue that could not reach every member is a failure the operator should see.
    return r.sent || r.detail.startsWith('nothing to send') ? 0 : 1;
  } catch (err) {
    // The workflow ended between the check and the update: it had nothing pending.
    if (err instanceof WorkflowNotFoundError) {
      ctx.out(`${list.address}: nothing to send\n`);
      return 0;
    }
    if (err instanceof WorkflowUpdateFailedError) throw new CliError(`${list.address}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    throw err;
  }
}

export function renderDigest(s: DigestStatus): string {
  const rows: [string, string][] = [
    ['pending', count(s.pending.length, 'post')],
    ['size', `${(s.size / 1024).toFixed(1)} KB${s.thresholdBytes > 0 ? ` of ${s.thresholdBytes / 1024} KB` : ' (no size threshold)'}`],
    ['period', s.period],
    ['next issue', s.nextSendAt ? `${when(s.nextSendAt)} at the latest` : '(not scheduled)'],
    ['last issue', s.last ? `Vol ${s.last.volume}, Issue ${s.last.number}` : '(none yet)'],
  ];
  if (s.lastIssue) rows.push(['', clean(s.lastIssue)]);
  for (const p of s.pending) rows.push(['', `#${p.seq} ${clean(p.subject)} (${clean(p.author ?? 'unknown')}, ${p.size} bytes)`]);
  return `${s.list}\n${fields(rows)}`;
}

export async function digestStatus(ctx: Context, listText: string, opts: { json?: boolean }): Promise<void> {
  const list = await requireList(ctx, listText);
  const id = digestWorkflowId(list.address);
  if (!(await running(ctx, id))) {
    if (opts.json) ctx.out(json({ list: list.address, running: false, pending: [] }));
    else ctx.out(`${list.address}: no digest pending (the digest workflow starts with the next post for digest members)\n`);
    return;
  }
  const { client, connection } = await ctx.temporal();
  const s = await connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => client.workflow.getHandle(id).query(digestStatusQuery));
  ctx.out(opts.json ? json({ running: true, ...s }) : renderDigest(s));
}
