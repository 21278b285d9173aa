// Core activities of the post workflow: classify, accept (number, decorate, snapshot), close the ledger.
import { ApplicationFailure } from '@temporalio/common';
import { runChain, type Verdict } from '../mail/chain.js';
import { stripApproval } from '../mail/approval.js';
import { addAuthenticationResults, listAuthservId } from '../mail/auth-results.js';
import type { AuthSummary } from '../mail/authenticity.js';
import { Context } from '@temporalio/activity';
import { decorateReporting } from '../mail/decoration/pipeline.js';
import { noAutoReplyReason, readFacts } from '../mail/message.js';
import { tokenApprover } from '../mail/rules/approved.js';
import { checkModeratorPassword } from '../mail/approval-password.js';
import type { Approver, MemberModeration } from '../mail/rules/types.js';
import { bansFor } from '../store/bans.js';
import { siteSecret, transaction } from '../store/db.js';
import { countDeliveries, expirePending, batchesWithPending, recordBounceEvent, snapshotRecipients, type DeliveryCounts } from '../store/deliveries.js';
import { getList, nextSequence } from '../store/lists.js';
import { findMember, memberOfLists } from '../store/members.js';
import { loadSiteSettings } from '../store/site-settings.js';
import { getMessage, putMessage } from '../store/messages.js';
import type { InboundMail } from '../workflows/messages.js';
import { feedFailures, queuesOf } from './bouncer-feed.js';
import type { ActivityDeps } from './deps.js';
import { mitigateDmarc } from './dmarc-policy.js';

export interface Classification {
  sender: string | null;
  subject: string;
  messageId: string;
  size: number;
  verdict: Verdict;
  maxHoldDays: number;
  holdExpiryAction: 'discard' | 'reject';
  notifyHeldSender: boolean;
  /** Why no automatic mail may go to the poster, or null when it may. */
  noReplyReason: string | null;
}

export interface Accepted {
  seq: number;
  total: number;
  batches: number;
  mode: 'bulk' | 'per-recipient';
  retryDays: number;
  retryWaitSeconds: number;
  retryMaxWaitSeconds: number;
  /** The DMARC mitigation applied to what members receive, e.g. "munge_from (example.com p=reject)"; absent when none. */
  dmarcMitigation?: string;
}

async function loadList(deps: ActivityDeps, address: string) {
  const list = await getList(deps.db, address);
  // The list was deleted while its post waited: nothing can be done, retrying will not help.
  if (!list) throw ApplicationFailure.nonRetryable(`the list ${address} no longer exists`, 'ListGone');
  return list;
}

export function createPostActivities(deps: ActivityDeps) {
  return {
    async classifyPost(mail: InboundMail, auth: AuthSummary | null = null): Promise<Classification> {
      const list = await loadList(deps, mail.list);
      const raw = await getMessage(deps.db, mail.sha256);
      const facts = readFacts(raw);
      const posterAddress = facts.from ?? facts.sender;
      const s = list.settings;
      // Only the other lists this list names as @list in its nonmember settings are looked up.
      const named = [...s.accept_these_nonmembers, ...s.hold_these_nonmembers, ...s.reject_these_nonmembers, ...s.discard_these_nonmembers]
        .filter((i) => i.startsWith('@'))
        .map((i) => i.slice(1));
      const [roles, memberOf, site, bans] = await Promise.all([
        posterAddress ? findMember(deps.db, list.id, posterAddress) : [],
        posterAddress ? memberOfLists(deps.db, posterAddress, named) : [],
        loadSiteSettings(deps.db),
        bansFor(deps.db, list.id),
      ]);
      const member = roles.find((r) => r.role === 'member');
      const approvers: Approver[] = [tokenApprover(await siteSecret(deps.db), list.address, Math.floor(Date.now() / 1000))];
      // The moderator password's scrypt runs here, once and off the event loop, before the pure chain.
      const password = await checkModeratorPassword(s.moderator_password, facts, approvers);
      const verdict = runChain({
        facts,
        envelopeFrom: mail.envelopeFrom,
        list: { address: list.address, settings: s },
        poster: { address: posterAddress, isMember: !!member, moderation: (member?.moderation as MemberModeration | undefined) ?? null, memberOf },
        site,
        bans,
        approvers,
        password,
        auth,
        raw,
      });
      return {
        sender: posterAddress,
        subject: facts.subject,
        messageId: facts.messageId,
        size: facts.size,
        verdict,
        maxHoldDays: list.settings.max_hold_days,
        holdExpiryAction: list.settings.hold_expiry_action,
        notifyHeldSender: list.settings.notify_held_sender,
        noReplyReason: noAutoReplyReason(facts, mail.envelopeFrom),
      };
    },

    /**
     * Numbers, decorates and stores the post, and snapshots its recipients. Safe to repeat. `sha256`, when
     * given, is a moderator's edited version to decorate instead of the message as received; `auth` adds
     * the Authentication-Results of the verification under the list's authserv-id.
     */
    async acceptPost(input: { workflowId: string; mail: InboundMail; sha256?: string; auth?: AuthSummary | null }): Promise<Accepted> {
      const list = await loadList(deps, input.mail.list);
      const s = list.settings;
      let dmarcMitigation: string | undefined;
      const seq = await transaction(deps.db, async (client) => {
        const existing = await client.query<{ seq: string }>('SELECT seq FROM posts WHERE workflow_id = $1', [input.workflowId]);
        if (existing.rows[0]) return Number(existing.rows[0].seq);
        const seq = await nextSequence(client, list.id);
        // Approved: headers and the pseudo-header line never reach members, whatever the verdict was; an
        // edited version a moderator approved replaces the original.
        const raw = stripApproval(await getMessage(client, input.sha256 ?? input.mail.sha256));
        const decoration = decorateReporting(raw, { list: list.address, displayName: list.displayName, settings: s, seq, publicUrl: deps.publicUrl });
        for (const why of decoration.skipped) Context.current().log.warn(`decoration skipped for ${input.workflowId}: ${why}`);
        // DMARC mitigation is the pipeline's last step (it needs DNS, so it runs here rather than in the pure
        // table), after every other change and before our Authentication-Results, which go on top.
        const mitigated = await mitigateDmarc(decoration.raw, raw, list, input.auth ?? null, deps);
        if (mitigated.applied) dmarcMitigation = `${mitigated.applied} (${mitigated.finding ? `${mitigated.finding.domain} p=${mitigated.finding.policy ?? 'unknown'}` : 'unconditionally'})`;
        const decorated = addAuthenticationResults(
          mitigated.raw,
          listAuthservId(list.address),
          input.auth?.header ?? null,
        );
        const sha = await putMessage(client, decorated);
        await client.query('INSERT INTO posts (workflow_id, list_id, seq, decorated_sha256) VALUES ($1, $2, $3, $4)', [
          input.workflowId,
          list.id,
          seq,
          sha,
        ]);
        return seq;
      });
      const batchSize = s.delivery_mode === 'bulk' ? s.bulk_max_recipients : s.per_recipient_batch;
      const { total, batches } = await snapshotRecipients(deps.db, input.workflowId, list.id, batchSize);
      return {
        seq,
        total,
        batches,
        mode: s.delivery_mode,
        retryDays: s.delivery_retry_days,
        retryWaitSeconds: s.delivery_retry_wait_seconds,
        retryMaxWaitSeconds: s.delivery_retry_max_wait_seconds,
        ...(dmarcMitigation ? { dmarcMitigation } : {}),
      };
    },

    async pendingBatches(workflowId: string): Promise<number[]> {
      return batchesWithPending(deps.db, workflowId);
    },

    /** The retry period is over: every recipient still pending failed; each is recorded for bounce processing. */
    async expireDeliveries(input: { workflowId: string; list: string }): Promise<DeliveryCounts> {
      const list = await getList(deps.db, input.list);
      const expired = await expirePending(deps.db, input.workflowId);
      for (const recipient of expired) {
        await recordBounceEvent(deps.db, {
          listId: list?.id ?? null,
          recipient,
          source: 'delivery',
          workflowId: input.workflowId,
          reason: 'temporary failures until the retry period ended',
          classification: 'temporary',
          method: 'smtp',
        });
      }
      // Each is a temporary bounce for the member's bouncer (it counts bounce_temporary_score, 0 by default).
      if (list && list.settings.process_bounces && expired.length > 0) {
        const failures = expired.map((address) => ({ address, classification: 'temporary' as const, method: 'smtp' as const, status: null, code: null, reason: 'temporary failures until the retry period ended' }));
        await feedFailures(Context.current().client, queuesOf(deps), list.address, input.workflowId, 'delivery', failures);
      }
      return countDeliveries(deps.db, input.workflowId);
    },
  };
}
