// `listflow status <id>`: where a post (or other inbound mail) stands, from its `status` query, readable or JSON.
import { isGrpcDeadlineError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { statusQuery, type MailStatus, type PostStatus, type SubscriptionStatus } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { describeFate, fateOf, type Fate } from '../runtime/fate.js';
import { noteLine } from './held.js';
import { resolveId } from './resolve-id.js';
import { isUnavailable, unreachableMessage } from './temporal.js';
import { clean, fields, json, when } from './output.js';

/** A query is answered by a worker; without one, say so rather than hang. */
export const QUERY_TIMEOUT_MS = 10_000;

function isDeadline(err: unknown): boolean {
  return isGrpcDeadlineError(err instanceof ServiceError ? err.cause : err);
}

function isPost(s: PostStatus | MailStatus | SubscriptionStatus): s is PostStatus {
  return 'decision' in s;
}

export function renderPost(s: PostStatus): string {
  const rows: [string, string][] = [
    ['state', s.state === 'held' && s.heldUntil ? `held (until ${when(s.heldUntil)})` : s.state === 'failed' && s.failure ? `failed: ${clean(s.failure)}` : s.state],
    ['list', s.list],
    ['sender', clean(s.sender ?? '(none)') + (s.envelopeFrom && s.envelopeFrom !== s.sender ? `  (envelope ${clean(s.envelopeFrom) || '<>'})` : '')],
    ['subject', clean(s.subject)],
    ['message-id', clean(s.messageId)],
    ['received', when(s.receivedAt)],
    ['decision', s.decision.action ? `${s.decision.action}: ${clean(s.decision.summary)}` : '(not classified yet)'],
  ];
  // The rules that hit, unless the summary already is the one hit's reason.
  const hits = s.decision.hits;
  if (hits.length > 1 || (hits[0] && hits[0].reason !== s.decision.summary)) {
    for (const hit of hits) rows.push(['', `- ${hit.rule} (${hit.action}): ${clean(hit.reason)}`]);
  }
  if (s.auth) {
    const a = s.auth;
    const dkim = a.dkim.signatures.length ? ` (${a.dkim.signatures.map((sig) => `${clean(sig.domain)} ${sig.result}`).join(', ')}${a.dkim.more ? `, ${a.dkim.more} more` : ''})` : '';
    rows.push([
      'authenticity',
      `spf=${a.spf.result}${a.spf.domain ? ` (${clean(a.spf.domain)})` : ''} dkim=${a.dkim.result}${dkim} dmarc=${a.dmarc.result}${a.dmarc.fromDomain ? ` (${clean(a.dmarc.fromDomain)})` : ''} arc=${a.arc.result}${a.error ? `; not verified: ${clean(a.error)}` : ''}`,
    ]);
  }
  const m = s.decision.moderation;
  if (m) rows.push(['moderation', `${m.action} by ${clean(m.by)} at ${when(m.at)}${m.reason ? `: ${clean(m.reason)}` : ''}`]);
  if (m?.edited) {
    rows.push(['edited', `by ${clean(m.edited.by)}: members get "${clean(m.edited.subject)}"`]);
    rows.push(['', `original sha256 ${m.edited.originalSha256}`], ['', `edited   sha256 ${m.edited.editedSha256}`]);
  }
  for (const [i, n] of (s.decision.notes ?? []).entries()) rows.push([i === 0 ? 'notes' : '', noteLine(n)]);
  if (s.seq !== null) rows.push(['post number', String(s.seq)]);
  if (s.dmarcMitigation) rows.push(['dmarc', `members get it with ${clean(s.dmarcMitigation)}`]);
  const d = s.delivery;
  if (d.total > 0 || ['accepted', 'delivering', 'delivered'].includes(s.state)) {
    rows.push(['delivery', `${d.total} recipients: ${d.sent} sent, ${d.failed} failed, ${d.pending} pending`]);
  }
  if (s.nextRetryAt) rows.push(['next retry', when(s.nextRetryAt)]);
  rows.push(['updated', when(s.updatedAt)]);
  return `${s.workflowId}\n${fields(rows)}`;
}

function renderSubscription(s: SubscriptionStatus): string {
  const rows: [string, string][] = [
    ['kind', `${s.action} (policy ${s.policy || 'unknown'})`],
    ['state', s.expiresAt ? `${s.state} (until ${when(s.expiresAt)})` : s.state],
    ['list', s.list],
    ['address', clean(s.address)],
    ['requested', `${when(s.requestedAt)} by ${clean(s.requestedBy)} (${s.via})`],
  ];
  if (s.confirmed) rows.push(['confirmed', `${when(s.confirmed.at)} by ${clean(s.confirmed.by)} (${s.confirmed.via})`]);
  const m = s.moderation;
  if (m) rows.push(['moderation', `${m.action} by ${clean(m.by)} at ${when(m.at)}${m.reason ? `: ${clean(m.reason)}` : ''}`]);
  rows.push(['detail', clean(s.detail)]);
  for (const [i, n] of s.notices.entries()) rows.push([i === 0 ? 'notices' : '', clean(n)]);
  rows.push(['updated', when(s.updatedAt)]);
  return `${s.workflowId}\n${fields(rows)}`;
}

function renderMail(s: MailStatus): string {
  return `${s.workflowId}\n${fields([
    ['kind', s.kind],
    ['state', s.state],
    ['list', s.list],
    ['sender', clean(s.sender ?? '(none)')],
    ['received', when(s.receivedAt)],
    ['detail', clean(s.detail)],
    // Email commands: each one and what became of it (the first line of its result).
    ...(s.commands ?? []).map((c): [string, string] => ['command', `${clean(c.line)} → ${c.outcome}${c.lines[0] ? `: ${clean(c.lines[0])}` : ''}`]),
    ['updated', when(s.updatedAt)],
  ])}`;
}

export async function status(ctx: Context, idText: string, opts: { json?: boolean }): Promise<void> {
  const id = await resolveId(ctx, idText);
  const { client, connection } = await ctx.temporal();
  const handle = client.workflow.getHandle(id);
  let fate: Fate;
  try {
    fate = await fateOf(handle);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`there is no workflow ${id} (see: listflow held)`);
    if (isUnavailable(err)) throw new CliError(unreachableMessage(ctx.config));
    throw err;
  }
  let current: PostStatus | MailStatus | SubscriptionStatus | undefined = fate.status as PostStatus | MailStatus | SubscriptionStatus | undefined;
  if (fate.execution === 'RUNNING') {
    try {
      current = await connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(statusQuery));
    } catch (err) {
      if (isUnavailable(err)) throw new CliError(unreachableMessage(ctx.config));
      if (isDeadline(err)) {
        throw new CliError(
          `no listflow worker answered the status query for ${id} within ${QUERY_TIMEOUT_MS / 1000}s: is listflow running? (last recorded state: ${fate.lastState ?? 'unknown'})`,
        );
      }
      throw err;
    }
  }
  if (!current) {
    // Failed or terminated: there is no final status, only what Temporal and visibility recorded.
    const summary = { workflowId: id, workflowStatus: fate.execution, lastState: fate.lastState ?? null };
    ctx.out(opts.json ? json(summary) : `${id}\n${fields([['state', `${fate.lastState ?? 'unknown'} (${describeFate(fate)})`]])}`);
    return;
  }
  if (opts.json) ctx.out(json(current));
  else if ('requestId' in current) ctx.out(renderSubscription(current));
  else ctx.out(isPost(current) ? renderPost(current) : renderMail(current));
}
