// `listflow bounces show|reenable|list`: a member's bounce state from its bouncer workflow and the recorded bounces.
import { WorkflowNotFoundError } from '@temporalio/client';
import { reenableMember } from '../activities/bounces.js';
import { addressKey } from '../mail/address.js';
import { findMember } from '../store/members.js';
import type { List } from '../store/lists.js';
import { bouncerStatusQuery, bouncerWorkflowId, type BouncerStatus } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { requireList } from './lists.js';
import { clean, fields, json, table, truncate, when } from './output.js';

const QUERY_TIMEOUT_MS = 10_000;

interface RecordedBounce {
  at: string;
  source: string;
  classification: string | null;
  method: string | null;
  status: string | null;
  code: number | null;
  reason: string | null;
  workflowId: string;
}

async function memberOf(ctx: Context, list: List, address: string) {
  return (await findMember(await ctx.db(), list.id, address)).find((r) => r.role === 'member') ?? null;
}

async function recorded(ctx: Context, list: List, address: string, limit = 10): Promise<RecordedBounce[]> {
  const { rows } = await (await ctx.db()).query<{
    created_at: Date;
    source: string;
    classification: string | null;
    method: string | null;
    status: string | null;
    code: number | null;
    reason: string | null;
    workflow_id: string;
  }>(
    `SELECT created_at, source, classification, method, status, code, reason, workflow_id FROM bounce_events
     WHERE list_id = $1 AND lower(recipient) = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
    [list.id, addressKey(address), limit],
  );
  return rows.map((r) => ({ at: r.created_at.toISOString(), source: r.source, classification: r.classification, method: r.method, status: r.status, code: r.code, reason: r.reason, workflowId: r.workflow_id }));
}

/** The bouncer's status (a closed run answers too, within the namespace's retention); null when there is none. */
async function bouncerStatus(ctx: Context, list: string, address: string): Promise<{ running: boolean; status: BouncerStatus } | null> {
  const { client, connection } = await ctx.temporal();
  const handle = client.workflow.getHandle(bouncerWorkflowId(list, address));
  try {
    const d = await handle.describe();
    const status = await connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(bouncerStatusQuery));
    return { running: d.status.name === 'RUNNING', status };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

const deliveryText = (s: string): string =>
  ({ enabled: 'enabled', by_bounces: 'disabled by bounces', by_user: 'disabled by the member', by_owner: 'disabled by an owner' })[s] ?? s;

export function renderBouncer(s: BouncerStatus, running: boolean): string {
  const rows: [string, string][] = [
    ['state', `${s.state}${running ? '' : ' (the bouncer has ended)'}`],
    ['score', `${s.score} of ${s.threshold}`],
    ['last bounce', when(s.lastBounceAt) || '(none)'],
  ];
  if (s.disabledAt) rows.push(['disabled at', when(s.disabledAt)], ['warnings', `${s.warningsSent} of ${s.warningsTotal} sent`]);
  if (s.nextAction) rows.push(['next', `${s.nextAction} at ${when(s.nextActionAt)}`]);
  if (s.detail) rows.push(['detail', clean(s.detail)]);
  let out = fields(rows);
  if (s.events.length > 0) {
    out += '  events (oldest first):\n';
    out += s.events.map((e) => `    ${when(e.at)}  ${e.source}  ${e.status ? `${clean(e.status)} ` : ''}${truncate(clean(e.reason), 100)}  => ${clean(e.effect)}\n`).join('');
  }
  return out;
}

export async function bouncesShow(ctx: Context, listText: string, addressText: string, opts: { json?: boolean }): Promise<void> {
  const list = await requireList(ctx, listText);
  const address = addressText.trim();
  const [member, rows, bouncer] = [await memberOf(ctx, list, address), await recorded(ctx, list, address), await bouncerStatus(ctx, list.address, address)];
  if (opts.json) {
    ctx.out(json({ list: list.address, address: member?.address ?? address, member, bouncer: bouncer ? { running: bouncer.running, ...bouncer.status } : null, recorded: rows }));
    return;
  }
  let out = `${clean(member?.address ?? address)} on ${list.address}\n`;
  out += fields([['member', member ? `yes, delivery ${deliveryText(member.deliveryStatus)}` : 'no (not a member now)']]);
  out += bouncer
    ? renderBouncer(bouncer.status, bouncer.running)
    : `  no bounce state: no bouncer workflow for this address (no bounce has been counted, or its record has expired)\n`;
  if (rows.length > 0) {
    out += '  recorded bounces (newest first):\n';
    out += table(
      ['    when', 'source', 'taken for', 'found by', 'status', 'reason'],
      rows.map((r) => [`    ${when(r.at)}`, r.source, r.classification ?? '', r.method ?? '', r.status ?? (r.code ? String(r.code) : ''), truncate(clean(r.reason), 80)]),
    );
  }
  ctx.out(out);
}

export async function bouncesReenable(ctx: Context, listText: string, addressText: string): Promise<number> {
  const list = await requireList(ctx, listText);
  const { client } = await ctx.temporal();
  const r = await reenableMember(await ctx.db(), client, list, addressText.trim(), ctx.actor);
  if (r.state === 'refused') throw new CliError(r.headline.replace(/^Nothing was done: /, ''));
  ctx.out(`${r.headline}${r.details.length ? ` ${r.details.join(' ')}` : ''}\n`);
  return 0;
}

export async function bouncesList(ctx: Context, listText: string, opts: { json?: boolean }): Promise<void> {
  const list = await requireList(ctx, listText);
  const { client, connection } = await ctx.temporal();
  // Running bouncers, from visibility (eventually consistent): members with a score or a countdown.
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `ListflowList = '${list.address}' AND ListflowKind = 'bouncer' AND ExecutionStatus = 'Running'`, pageSize: 500 })) {
    ids.push(wf.workflowId);
    if (ids.length >= 5000) break;
  }
  const states: BouncerStatus[] = [];
  for (let i = 0; i < ids.length; i += 8) {
    const chunk = await Promise.all(
      ids.slice(i, i + 8).map((id) =>
        connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => client.workflow.getHandle(id).query(bouncerStatusQuery)).catch(() => null),
      ),
    );
    for (const s of chunk) if (s) states.push(s);
  }
  // Members disabled by bounces whose bouncer is gone (e.g. history lost) still show.
  const { rows } = await (await ctx.db()).query<{ address: string }>(
    `SELECT address FROM members WHERE list_id = $1 AND role = 'member' AND delivery_status = 'by_bounces' ORDER BY address_key`,
    [list.id],
  );
  const known = new Set(states.map((s) => s.address.toLowerCase()));
  const orphans = rows.map((r) => r.address).filter((a) => !known.has(a.toLowerCase()));
  states.sort((a, b) => b.score - a.score || a.address.localeCompare(b.address));
  if (opts.json) {
    ctx.out(json({ list: list.address, bouncers: states, disabledWithoutBouncer: orphans }));
    return;
  }
  if (states.length === 0 && orphans.length === 0) {
    ctx.out(`${list.address}: no member has bounce state\n`);
    return;
  }
  ctx.out(
    table(
      ['address', 'state', 'score', 'last bounce', 'next'],
      [
        ...states.map((s) => [clean(s.address), s.state, `${s.score}/${s.threshold}`, when(s.lastBounceAt), s.nextAction ? `${s.nextAction} ${when(s.nextActionAt)}` : '']),
        ...orphans.map((a) => [clean(a), 'disabled', '', '', '(no bouncer running)']),
      ],
    ),
  );
}
