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
import { siteSecret, transaction, type Queryable } from '../store/db.js';
import { countDeliveries, expirePending, batchesWithPending, recordBounceEvent, snapshotRecipients, type DeliveryCounts } from '../store/deliveries.js';
import { getList, ListGoneError, nextSequence, peekSequence, takeSequenceIf } from '../store/lists.js';
import { findMember, memberOfLists } from '../store/members.js';
import { loadSiteSettings } from '../store/site-settings.js';
import { getMessage, putMessage } from '../store/messages.js';
import type { InboundMail } from '../workflows/messages.js';
import { feedFailures, queuesOf } from './bouncer-feed.js';
import type { ActivityDeps } from './deps.js';
import { MalformedMessageError } from './failures.js';
import { findPolicy, knownPolicy, mitigateDmarc, needsPolicy } from './dmarc-policy.js';
import type { PolicyFinding } from '../mail/dmarc-mitigation.js';

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

/** How often acceptPost decorates again for a number another post took, before it decorates under the list's lock. */
const MAX_LOST_RACES = 3;

/** What acceptPost answers instead of accepting when a DMARC policy must be looked up first (a network wait). */
export interface PolicyNeeded {
  /** The From domain whose policy is wanted. */
  needsPolicy: string;
}

async function acceptedSeq(db: Queryable, workflowId: string): Promise<number | null> {
  const { rows } = await db.query<{ seq: string }>('SELECT seq FROM posts WHERE workflow_id = $1', [workflowId]);
  return rows[0] ? Number(rows[0].seq) : null;
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
     *
     * Nothing here waits on the network inside the transaction: the post is decorated (DMARC mitigation
     * included) for the number the list will give next, and the transaction that locks the list's row only
     * takes that number, stores the result and records the post; if another post took the number meanwhile,
     * the post is decorated again for the next one. With `dnsFirst` (a local activity of a post workflow since
     * DNS_FIRST_PATCH) a DMARC policy the verification cannot tell is not looked up here at all: the answer is
     * `{ needsPolicy }`, the workflow asks the regular activity lookupDmarcPolicy and passes its `policy` back.
     */
    async acceptPost(input: {
      workflowId: string;
      mail: InboundMail;
      sha256?: string;
      auth?: AuthSummary | null;
      dnsFirst?: boolean;
      /** The From domain's policy as lookupDmarcPolicy found it (null: it found nothing). */
      policy?: PolicyFinding | null;
    }): Promise<Accepted | PolicyNeeded> {
      const list = await loadList(deps, input.mail.list);
      const s = list.settings;
      let dmarcMitigation: string | undefined;
      let seq = await acceptedSeq(deps.db, input.workflowId);
      if (seq === null) {
        // Approved: headers and the pseudo-header line never reach members, whatever the verdict was; an
        // edited version a moderator approved replaces the original.
        const raw = stripApproval(await getMessage(deps.db, input.sha256 ?? input.mail.sha256));
        let finding: PolicyFinding | undefined;
        if (needsPolicy(s)) {
          const known = knownPolicy(raw, input.auth ?? null, deps);
          finding = known.finding;
          if (known.lookup) {
            if (input.policy !== undefined) finding = input.policy ?? undefined;
            else if (input.dnsFirst) return { needsPolicy: known.lookup };
            // A post from before DNS_FIRST_PATCH: it looks up here, still before any transaction.
            else finding = await findPolicy(raw, input.auth ?? null, deps);
          }
        }
        const decorate = (n: number) =>
          decorateOnce(n).catch((err: Error) => {
            // Decoration is pure: what it throws is about these bytes, and a retry reads the same ones.
            throw new MalformedMessageError(`the post could not be decorated: ${err.message}`);
      });
        const decorateOnce = async (n: number) => {
          const decoration = decorateReporting(raw, { list: list.address, displayName: list.displayName, settings: s, seq: n, publicUrl: deps.publicUrl });
          // DMARC mitigation is the pipeline's last step, after every other change and before our
          // Authentication-Results, which go on top.
          const mitigated = await mitigateDmarc(decoration.raw, raw, list, finding);
          const applied = mitigated.applied ? `${mitigated.applied} (${mitigated.finding ? `${mitigated.finding.domain} p=${mitigated.finding.policy ?? 'unknown'}` : 'unconditionally'})` : undefined;
          return { skipped: decoration.skipped, applied, raw: addAuthenticationResults(mitigated.raw, listAuthservId(list.address), input.auth?.header ?? null) };
        };
        for (let lost = 0; seq === null; lost++) {
          // Under a burst on one list a post may keep losing the race; past MAX_LOST_RACES it takes its number first
          // and is decorated under the lock, which costs CPU only (the policy is known by now), never a network wait.
          const underLock = lost >= MAX_LOST_RACES;
          let expected: number | null = null;
          let decorated = underLock ? null : await (async () => {
            expected = await peekSequence(deps.db, list.id);
            if (expected === null) throw new ListGoneError(`the list ${list.address} no longer exists`);
            return decorate(expected);
          })();
          const taken = await transaction(deps.db, async (client) => {
            const already = await acceptedSeq(client, input.workflowId);
            if (already !== null) return already;
            const n = expected === null ? await nextSequence(client, list.id) : await takeSequenceIf(client, list.id, expected);
            if (n === null) return null;
            decorated ??= await decorate(n);
            const sha = await putMessage(client, decorated.raw);
            await client.query('INSERT INTO posts (workflow_id, list_id, seq, decorated_sha256) VALUES ($1, $2, $3, $4)', [input.workflowId, list.id, n, sha]);
            return n;
          });
          if (taken === null) continue; // another post of the list was numbered meanwhile: decorate for the next number
          seq = taken;
          for (const why of decorated?.skipped ?? []) Context.current().log.warn(`decoration skipped for ${input.workflowId}: ${why}`);
          dmarcMitigation = decorated?.applied;
        }
      }
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

    /**
     * The DMARC policy of the From domain of the post (or a moderator's edit), when the verification could not
     * tell it: the DNS half of acceptance, a regular activity so that no local activity and no transaction waits
     * on DNS. null when nothing is known.
     */
    async lookupDmarcPolicy(input: { sha256: string; auth?: AuthSummary | null }): Promise<PolicyFinding | null> {
      const raw = stripApproval(await getMessage(deps.db, input.sha256));
      return (await findPolicy(raw, input.auth ?? null, deps)) ?? null;
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
