// `listflow failed [<list>] [--kind post|request|bounce|…] [--json]`: workflows that ended `failed` (a step failed
// for good and the owners were told), found through Temporal visibility, with each one's reason.
import type { Client, Connection } from '@temporalio/client';
import { ListflowKind, ListflowList, type MailStatus, type PostStatus } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { listAddress, mapLimit } from './held.js';
import { clean, count, json, table, truncate, when } from './output.js';

const RESULT_TIMEOUT_MS = 5000;
const PARALLEL = 8;
const KINDS = ['post', 'request', 'owner', 'bounce', 'confirm'];

export interface FailedRow {
  workflowId: string;
  kind: string;
  list: string;
  /** When it ended (visibility's close time), or when it started if it still runs. */
  at: string;
  reason: string;
}

/** The visibility query behind the command; the same works with `temporal workflow list --query`. */
export function failedQuery(list?: string, kind?: string): string {
  let q = `ListflowState='failed'`;
  if (list) q += ` AND ListflowList='${list}'`;
  if (kind) q += ` AND ListflowKind='${kind}'`;
  return q;
}

/** The reason a failed workflow recorded: its result (a completed workflow's status), no worker needed. */
async function reasonOf(client: Client, connection: Connection, workflowId: string): Promise<string> {
  try {
    const status = await connection.withDeadline(Date.now() + RESULT_TIMEOUT_MS, () => client.workflow.getHandle(workflowId).result()) as PostStatus | MailStatus;
    if ('failure' in status && status.failure) return status.failure;
    return 'detail' in status ? status.detail : '';
  } catch (err) {
    return `(no reason recorded: ${(err as Error).message})`;
  }
}

export async function failed(ctx: Context, listText: string | undefined, opts: { json?: boolean; kind?: string }): Promise<void> {
  const list = listText === undefined ? undefined : listAddress(listText);
  if (opts.kind !== undefined && !KINDS.includes(opts.kind)) throw new CliError(`--kind must be one of ${KINDS.join(', ')}`);
  const { client, connection } = await ctx.temporal();
  const found: { workflowId: string; kind: string; list: string; at: Date }[] = [];
  for await (const wf of client.workflow.list({ query: failedQuery(list, opts.kind), pageSize: 1000 })) {
    found.push({
      workflowId: wf.workflowId,
      kind: wf.typedSearchAttributes.get(ListflowKind) ?? wf.workflowId.split('/')[0] ?? '',
      list: wf.typedSearchAttributes.get(ListflowList) ?? wf.workflowId.split('/')[1] ?? '',
      at: wf.closeTime ?? wf.startTime,
    });
  }
  const rows: FailedRow[] = await mapLimit(found, PARALLEL, async (wf) => ({
    workflowId: wf.workflowId,
    kind: wf.kind,
    list: wf.list,
    at: wf.at.toISOString(),
    reason: await reasonOf(client, connection, wf.workflowId),
  }));
  rows.sort((a, b) => b.at.localeCompare(a.at));
  if (opts.json) {
    ctx.out(json(rows));
    return;
  }
  if (rows.length === 0) {
    ctx.out(`no failed workflows${list ? ` on ${list}` : ''}\n`);
    return;
  }
  ctx.out(table(['ID', 'KIND', 'ENDED', 'REASON'], rows.map((r) => [r.workflowId, r.kind, when(r.at), truncate(clean(r.reason), 100)])));
  ctx.out(`${count(rows.length, 'failed workflow')}\n`);
}
