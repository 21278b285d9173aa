// Bounce processing's database side: read a bounce and hand each failed member to its bouncer; what a bouncer
// needs to know and change (settings, delivery on/off, removal); and the re-enable token's handler.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { addressKey } from '../mail/address.js';
import { parseBounce } from '../mail/bounce.js';
import { classifyBounce, isFeedbackReport, type BounceVerdict } from '../mail/bounce-classify.js';
import { partHeaders } from '../mail/mime.js';
import { transaction, type Queryable } from '../store/db.js';
import { recordBounceEvent } from '../store/deliveries.js';
import { getList, type List } from '../store/lists.js';
import { getMessage } from '../store/messages.js';
import { memberByVerpToken, unsubscribeByVerpToken, unsubscriptionOf } from '../store/unsubscriptions.js';
import { findMember } from '../store/members.js';
import { bouncerStatusQuery, bouncerWorkflowId, reenableSignal, type BouncerContext, type BouncerSettings, type BouncerStatus } from '../workflows/messages.js';
import { feedFailures, queuesOf } from './bouncer-feed.js';
import type { ActivityDeps } from './deps.js';
import type { TokenHandler, TokenResult } from './token-actions.js';

/** What the bounce workflow does next, and the one line its status shows. */
export interface InboundBounceOutcome {
  /** counted: handed to bouncers; policy: only policy refusals (the owners' summary); auto-reply, not-bounce, unrecognised, former-member, kept. */
  state: 'counted' | 'policy' | 'auto-reply' | 'not-bounce' | 'unrecognised' | 'former-member' | 'recorded' | 'kept';
  detail: string;
  /** Forward the message to the owners with this reason (null: do not). */
  forwardWhy: string | null;
}

export type { BouncerContext, BouncerSettings };

export function bouncerSettings(list: List): BouncerSettings {
  const s = list.settings;
  return {
    processBounces: s.process_bounces,
    threshold: s.bounce_score_threshold,
    temporaryScore: s.bounce_temporary_score,
    staleAfterDays: s.bounce_info_stale_after,
    warnings: s.bounce_you_are_disabled_warnings,
    warningIntervalDays: s.bounce_you_are_disabled_warnings_interval,
    notifyOwnerOnDisable: s.bounce_notify_owner_on_disable,
    notifyOwnerOnRemoval: s.bounce_notify_owner_on_removal,
  };
}

/** The address's membership (role member) as a bouncer knows it; null when it is not a member. */
async function memberRow(db: Queryable, listId: number, address: string) {
  const m = (await findMember(db, listId, address)).find((r) => r.role === 'member');
  return m ? { address: m.address, verpToken: m.verpToken, deliveryStatus: m.deliveryStatus } : null;
}

/** The members (role member) among some addresses, keyed by address key; at most 1,000 addresses are looked up. */
async function membersByKey(db: Queryable, listId: number, addresses: string[]) {
  if (addresses.length === 0) return new Map<string, { address: string; verpToken: string; deliveryStatus: string }>();
  const { rows } = await db.query<{ address: string; address_key: string; verp_token: string; delivery_status: string }>(
    `SELECT address, address_key, verp_token, delivery_status FROM members WHERE list_id = $1 AND role = 'member' AND address_key = ANY($2::text[])`,
    [listId, [...new Set(addresses.map(addressKey))].slice(0, 1000)],
  );
  return new Map(rows.map((r) => [r.address_key, { address: r.address, verpToken: r.verp_token, deliveryStatus: r.delivery_status }]));
}

/** The header listflow puts on bounces it forwards to the owners (activities/bounce-notify.ts), to know them when they come back. */
export const FORWARD_MARK = 'X-Listflow-Forwarded-Bounce';

async function allStaff(db: Queryable, listId: number, addresses: string[]): Promise<boolean> {
  const { rows } = await db.query<{ address_key: string }>(
    `SELECT DISTINCT address_key FROM members WHERE list_id = $1 AND role IN ('owner', 'moderator') AND address_key = ANY($2::text[])`,
    [listId, addresses.map(addressKey)],
  );
  return rows.length === new Set(addresses.map(addressKey)).size;
}

function contentTypeOf(raw: Buffer): string {
  try {
    return partHeaders(raw, 0, raw.length).headers.getFirst('content-type').replace(/\r?\n[ \t]*/g, ' ');
  } catch {
    return '';
  }
}

function eventsOf(verdict: BounceVerdict, scoring: boolean) {
  if (verdict.failures.length > 0) {
    return verdict.failures.map((f) => ({
      recipient: f.address,
      classification: f.classification,
      method: f.method,
      status: f.status,
      code: f.code,
      reason: f.reason,
      scored: scoring && f.classification !== 'policy',
    }));
  }
  return [{ recipient: verdict.autoReplyFrom, classification: verdict.kind, method: verdict.autoReplyFrom ? 'verp' : 'none', status: null, code: null, reason: verdict.why, scored: false }];
}

/** Re-enables delivery for a member disabled by bounces: tells the bouncer (which cancels the countdown), or mends the row when none runs. */
export async function reenableMember(db: Queryable, client: Client, list: List, address: string, by: string): Promise<TokenResult> {
  const member = await memberRow(db, list.id, address);
  if (!member) return { state: 'refused', headline: `Nothing was done: ${address} is not a member of ${list.address}.`, details: [] };
  const handle = client.workflow.getHandle(bouncerWorkflowId(list.address, member.address));
  let status: BouncerStatus | null = null;
  try {
    const d = await handle.describe();
    if (d.status.name === 'RUNNING') status = await handle.query(bouncerStatusQuery);
  } catch {
    // No bouncer: nothing counts against the member.
  }
  const on = { state: 'applied' as const, headline: `Delivery of ${list.address} to ${member.address} is on again.`, details: [] as string[] };
  if (status) {
    await handle.signal(reenableSignal, { by });
    if (status.state === 'disabled') return { ...on, details: ['The removal countdown is cancelled and the bounce score starts again from zero.'] };
    if (member.deliveryStatus !== 'by_bounces') return { ...on, headline: `Delivery of ${list.address} to ${member.address} is on; its bounce score starts again from zero.` };
    return on;
  }
  if (member.deliveryStatus === 'by_bounces') {
    await db.query(`UPDATE members SET delivery_status = 'enabled' WHERE list_id = $1 AND address_key = $2 AND role = 'member' AND delivery_status = 'by_bounces'`, [
      list.id,
      addressKey(member.address),
    ]);
    return on;
  }
  return { state: 'applied', headline: `Delivery of ${list.address} to ${member.address} is already on; nothing to re-enable.`, details: [] };
}

/** TOKEN_HANDLERS.reenable: a reply to the -confirm+TOKEN address of a bounce warning, or its link. */
export const reenableByToken: TokenHandler = async (deps, client, use) => {
  const verpToken = use.claims.ref.toString('utf8');
  const member = await memberByVerpToken(deps.db, use.list.id, verpToken);
  if (!member) {
    return { state: 'refused', headline: `Nothing was done: this membership of ${use.list.address} has ended.`, details: ['Subscribe again if you want the list\'s mail.'] };
  }
  return reenableMember(deps.db, client, use.list, member.address, `${use.by} (${use.via})`);
};

export function createBounceActivities(deps: ActivityDeps) {
  return {
    /**
     * Mail to -bounces: parse it, find the members it is about (VERP token, report, heuristics), record what it
     * was taken for, and hand each failure to the member's bouncer or the list's policy summary. Idempotent:
     * a retry replaces its own records, and bouncers ignore a bounce ID they have seen.
     */
    async processInboundBounce(input: { list: string; sha256: string; workflowId: string; detail?: string }): Promise<InboundBounceOutcome> {
      const list = await getList(deps.db, input.list);
      if (!list) {
        await recordBounceEvent(deps.db, { listId: null, recipient: null, source: 'inbound', workflowId: input.workflowId, sha256: input.sha256, classification: 'unrecognised', method: 'none', reason: `the list ${input.list} no longer exists` });
        return { state: 'kept', detail: 'the list no longer exists; the message is kept in the store', forwardWhy: null };
      }
      const raw = await getMessage(deps.db, input.sha256);
      const report = parseBounce(raw);
      const token = input.detail?.toLowerCase();
      const verpMember = token ? await memberByVerpToken(deps.db, list.id, token) : null;
      const members = await membersByKey(deps.db, list.id, report.recipients.map((r) => r.address));
      const verdict = classifyBounce(report, {
        verpMember,
        memberFor: (a) => members.get(addressKey(a))?.address ?? null,
        feedbackReport: isFeedbackReport(contentTypeOf(raw)),
      });
      const scoring = list.settings.process_bounces;
      // Mail to the VERP address of a membership that has ended (its token is in the unsubscriptions) is late news:
      // a bounce of the removal notice, an auto-reply. Kept, not forwarded.
      const former = token && !verpMember && (verdict.kind === 'unrecognised' || verdict.kind === 'not-bounce') ? await unsubscriptionOf(deps.db, list.address, token) : null;

      await transaction(deps.db, async (client) => {
        await client.query(`DELETE FROM bounce_events WHERE workflow_id = $1 AND source = 'inbound'`, [input.workflowId]);
        for (const e of eventsOf(verdict, scoring)) {
          await recordBounceEvent(client, {
            listId: list.id,
            recipient: e.recipient ?? (former ? former.address : null),
            source: 'inbound',
            workflowId: input.workflowId,
            sha256: input.sha256,
            code: e.code,
            reason: former ? `for a former member (left via ${former.via} at ${former.at.toISOString()}): ${verdict.why}` : e.reason,
            classification: e.classification,
            method: e.method,
            status: e.status,
            scored: e.scored,
          });
        }
      });

      if (!former && verdict.forward && (raw.includes(FORWARD_MARK) || (verdict.unmatched.length > 0 && (await allStaff(deps.db, list.id, verdict.unmatched))))) {
        // A bounce of listflow's own mail to the owners: forwarding it to them again would bounce again, for ever.
        const why = raw.includes(FORWARD_MARK) ? 'a bounce of a bounce listflow forwarded' : `a bounce for the list's staff (${verdict.unmatched.join(', ')})`;
        return { state: 'recorded', detail: `${why}; recorded, not forwarded (it would loop)`, forwardWhy: null };
      }
      if (former) return { state: 'former-member', detail: `about ${former.address}, who left via ${former.via} at ${former.at.toISOString()}; recorded`, forwardWhy: null };
      if (!scoring) {
        const why = `process_bounces is off for ${list.address}: nothing was counted. ${verdict.why}`;
        return { state: 'recorded', detail: why, forwardWhy: verdict.kind === 'auto-reply' ? null : why };
      }
      if (verdict.failures.length > 0) {
        const settings = bouncerSettings(list);
        const rows = await membersByKey(deps.db, list.id, verdict.failures.map((f) => f.address));
        const contextOf = (address: string): BouncerContext | undefined => {
          const member = rows.get(addressKey(address));
          return member ? { settings, member } : undefined;
        };
        await feedFailures(Context.current().client, queuesOf(deps), list.address, input.workflowId, 'inbound', verdict.failures, contextOf);
        const counted = verdict.failures.some((f) => f.classification !== 'policy');
        return { state: counted ? 'counted' : 'policy', detail: verdict.why, forwardWhy: null };
      }
      return { state: verdict.kind === 'bounce' ? 'recorded' : verdict.kind, detail: verdict.why, forwardWhy: verdict.forward ? verdict.why : null };
    },

    /** The list's bounce settings and the member as it stands now (null when gone). */
    async bouncerContext(input: { list: string; address: string }): Promise<BouncerContext> {
      const list = await getList(deps.db, input.list);
      if (!list) return { settings: null, member: null };
      return { settings: bouncerSettings(list), member: await memberRow(deps.db, list.id, input.address) };
    },

    /** Turns a member's delivery off (by_bounces) or back on; says whether the member is still there. */
    async setBounceDelivery(input: { list: string; address: string; enabled: boolean }): Promise<{ member: boolean; changed: boolean }> {
      const list = await getList(deps.db, input.list);
      if (!list) return { member: false, changed: false };
      const [from, to] = input.enabled ? ['by_bounces', 'enabled'] : ['enabled', 'by_bounces'];
      const { rowCount } = await deps.db.query(
        `UPDATE members SET delivery_status = $4 WHERE list_id = $1 AND address_key = $2 AND role = 'member' AND delivery_status = $3`,
        [list.id, addressKey(input.address), from, to],
      );
      const changed = (rowCount ?? 0) > 0;
      return { member: changed || (await memberRow(deps.db, list.id, input.address)) !== null, changed };
    },

    /** Ends the membership (recorded in unsubscriptions, via 'bounces'); 'already' when it had ended another way. */
    async removeBouncingMember(input: { list: string; address: string; verpToken?: string }): Promise<{ outcome: 'removed' | 'already'; address: string }> {
      const list = await getList(deps.db, input.list);
      if (!list) return { outcome: 'already', address: input.address };
      // Exactly the membership that was disabled (its VERP token), never a later one of the same address.
      const verpToken = input.verpToken ?? (await memberRow(deps.db, list.id, input.address))?.verpToken;
      if (!verpToken) return { outcome: 'already', address: input.address };
      const r = await unsubscribeByVerpToken(deps.db, list, verpToken, 'bounces');
      const member = { address: r.record?.address ?? input.address };
      return { outcome: r.outcome === 'unsubscribed' ? 'removed' : 'already', address: member.address };
    },
  };
}
