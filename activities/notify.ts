// Mail listflow writes itself: notices to posters and moderators, -owner forwarding, -request help.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import MailComposer from 'nodemailer/lib/mail-composer';
import { listSubAddress } from '../mail/address.js';
import type { RuleHit } from '../mail/chain.js';
import { commandReply, type CommandReplyInput } from '../mail/command-replies.js';
import {
  confirmReply,
  expiredForPoster,
  failedForOwners,
  heldForModerators,
  heldForPoster,
  rejectedForPoster,
  reminderForModerators,
  requestHelp,
  type ConfirmAddresses,
  type Notice,
  type PostRef,
  type WaitingPost,
} from '../mail/notices.js';
import { noAutoReplyReason, readFacts } from '../mail/message.js';
import { issueToken, postRef } from '../mail/tokens.js';
import { takeAutoreply } from '../store/autoreplies.js';
import { siteSecret } from '../store/db.js';
import { getList } from '../store/lists.js';
import { listStaff } from '../store/members.js';
import { getMessage } from '../store/messages.js';
import { recordBounceEvent } from '../store/deliveries.js';
import { requireTransport, type ActivityDeps } from './deps.js';
import { signOutgoing } from './signing.js';
import { sendTransaction, type Outcome } from './smtp.js';

export type PosterNotice =
  | { kind: 'held'; reason: string; days: number }
  | { kind: 'rejected'; reason: string; hits?: RuleHit[] }
  | { kind: 'expired'; days: number; action: 'discard' | 'reject' };

export interface NoticeResult {
  sent: string[];
  /** Recipients that could not be reached now; the activity is retried for temporary trouble. */
  failed: string[];
  /** Why nothing was sent on purpose (e.g. the daily limit of automatic replies). */
  skipped?: string;
}

/** The -confirm+TOKEN address of each action on a held post, valid until the hold ends. */
export function confirmAddresses(secret: string, list: string, workflowId: string, heldUntil: string): ConfirmAddresses {
  const expiresAt = Math.ceil(Date.parse(heldUntil) / 1000);
  const ref = postRef(workflowId);
  const address = (action: 'approve' | 'reject' | 'discard') =>
    listSubAddress(list, 'confirm', issueToken(secret, { kind: 'moderation', action, list, ref, expiresAt }));
  return { approve: address('approve'), reject: address('reject'), discard: address('discard') };
}

/** Whether a post is still held, asked of its workflow; unknown (null) when the question fails for another reason. */
async function stillHeld(workflowId: string): Promise<boolean | null> {
  try {
    const status = await Context.current().client.workflow.getHandle(workflowId).query<{ state: string }>('status');
    return status.state === 'held';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    return null;
  }
}

function noticeError(outcome: Outcome): Error | null {
  if (outcome.deferred.length === 0) return null;
  return new Error(`notice deferred for ${outcome.deferred.map((d) => `${d.recipient} (${d.code ?? 'no code'} ${d.response})`).join(', ')}`);
}

export function createNoticeActivities(deps: ActivityDeps) {
  async function send(list: string, to: string[], notice: Notice, options: { inReplyTo?: string; attach?: Buffer; from?: string } = {}): Promise<NoticeResult> {
    if (to.length === 0) return { sent: [], failed: [] };
    const composer = new MailComposer({
      from: options.from ?? listSubAddress(list, 'owner'),
      to,
      subject: notice.subject,
      text: notice.text,
      messageId: `<${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@${deps.hostname}>`,
      ...(options.inReplyTo ? { inReplyTo: options.inReplyTo, references: options.inReplyTo } : {}),
      headers: { 'Auto-Submitted': 'auto-replied', Precedence: 'bulk', 'X-BeenThere': list },
      ...(options.attach ? { attachments: [{ content: options.attach, contentType: 'message/rfc822', filename: 'message.eml' }] } : {}),
    });
    const raw = await composer.compile().build();
    // Notices go out with the list's bounce address, so failures come back to listflow, never to a person.
    const outcome = await sendTransaction(requireTransport(deps), listSubAddress(list, 'bounces'), to, await signOutgoing(raw, list, deps));
    const err = noticeError(outcome);
    if (err) throw err;
    return { sent: outcome.sent, failed: outcome.failed.map((f) => f.recipient) };
  }

  /** An automatic reply to a poster or requester: counted against the site's daily limit per address. */
  async function autoReply(list: string, to: string, ref: string, notice: Notice, options: { inReplyTo?: string; from?: string } = {}): Promise<NoticeResult> {
    const grant = await takeAutoreply(deps.db, to, ref);
    if (!grant.allowed) return { sent: [], failed: [], skipped: grant.reason };
    return send(list, [to], notice, options);
  }

  return {
    async notifyPoster(input: { post: PostRef; to: string; messageId: string; notice: PosterNotice }): Promise<NoticeResult> {
      const n = input.notice;
      const notice =
        n.kind === 'held'
          ? heldForPoster(input.post, n.reason, n.days)
          : n.kind === 'rejected'
            ? rejectedForPoster(input.post, n.reason, n.hits)
            : expiredForPoster(input.post, n.days, n.action);
      return autoReply(input.post.list, input.to, `${input.post.workflowId} ${n.kind}`, notice, { inReplyTo: input.messageId || undefined });
    },

    /** One notice per held post to the moderators (owners if none): every reason, the post attached, how to act. */
    async notifyModerators(input: { post: PostRef; reason: string; hits?: RuleHit[]; days: number; heldUntil?: string; sha256: string }): Promise<NoticeResult> {
      const list = await getList(deps.db, input.post.list);
      if (!list) return { sent: [], failed: [] };
      const staff = await listStaff(deps.db, list.id);
      const to = staff.moderators.length > 0 ? staff.moderators : staff.owners;
      const raw = await getMessage(deps.db, input.sha256);
      // A post held before tokens existed has no heldUntil: it is told the CLI only.
      const confirm = input.heldUntil ? confirmAddresses(await siteSecret(deps.db), list.address, input.post.workflowId, input.heldUntil) : null;
      const notice = heldForModerators({
        post: input.post,
        hits: input.hits ?? [],
        summary: input.reason,
        days: input.days,
        heldUntil: input.heldUntil ?? `${input.days} day(s) after it arrived`,
        confirm,
      });
      return send(list.address, to, notice, { attach: raw });
    },

    /**
     * The daily reminder of posts still waiting. Asks each post whether it is still held (a decision whose
     * signal was lost must not be reminded of for ever) and says which are.
     */
    async sendModerationReminder(input: { list: string; posts: WaitingPost[] }): Promise<NoticeResult & { waiting: string[] }> {
      const list = await getList(deps.db, input.list);
      if (!list) return { sent: [], failed: [], skipped: 'the list no longer exists', waiting: [] };
      const waiting: WaitingPost[] = [];
      for (const p of input.posts) {
        // Unknown counts as waiting: a reminder too many beats a post forgotten.
        if ((await stillHeld(p.workflowId)) !== false) waiting.push(p);
      }
      const ids = waiting.map((p) => p.workflowId);
      if (waiting.length === 0) return { sent: [], failed: [], skipped: 'no post is waiting any more', waiting: ids };
      const secret = await siteSecret(deps.db);
      const staff = await listStaff(deps.db, list.id);
      const to = staff.moderators.length > 0 ? staff.moderators : staff.owners;
      const posts = [...waiting]
        .sort((a, b) => a.heldAt.localeCompare(b.heldAt))
        .map((post) => ({ post, confirm: Date.parse(post.heldUntil) > Date.now() ? confirmAddresses(secret, list.address, post.workflowId, post.heldUntil) : null }));
      return { ...(await send(list.address, to, reminderForModerators(list.address, posts, Date.now()))), waiting: ids };
    },

    /** The answer to a reply to a -confirm address: an automatic reply, so limited like the others. */
    async replyToConfirmation(input: { list: string; to: string; ref: string; headline: string; details: string[]; inReplyTo?: string }): Promise<NoticeResult> {
      return autoReply(input.list, input.to, input.ref, confirmReply(input.list, input.headline, input.details), { inReplyTo: input.inReplyTo || undefined });
    },

    /** -owner mail goes to the owners unchanged, with the list's bounce address as return path. */
    async forwardToOwners(input: { list: string; sha256: string; workflowId: string }): Promise<{ owners: string[]; detail: string }> {
      const list = await getList(deps.db, input.list);
      if (!list) return { owners: [], detail: 'the list no longer exists; the message is kept in the store' };
      const staff = await listStaff(deps.db, list.id);
      if (staff.owners.length === 0) return { owners: [], detail: 'the list has no owners; the message is kept in the store' };
      const raw = await getMessage(deps.db, input.sha256);
      const outcome = await sendTransaction(requireTransport(deps), listSubAddress(list.address, 'bounces'), staff.owners, raw);
      const err = noticeError(outcome);
      if (err) throw err;
      return { owners: outcome.sent, detail: `forwarded to ${outcome.sent.join(', ') || 'nobody'}${outcome.failed.length ? `; refused for ${outcome.failed.map((f) => f.recipient).join(', ')}` : ''}` };
    },

    /** requestWorkflow before email commands (kept for requests started then): a help reply, unless the mail is automatic or the address had its daily share. */
    async answerRequest(input: { list: string; sha256: string; envelopeFrom: string }): Promise<{ detail: string }> {
      const list = await getList(deps.db, input.list);
      if (!list) return { detail: 'the list no longer exists; no reply' };
      const facts = readFacts(await getMessage(deps.db, input.sha256));
      const why = noAutoReplyReason(facts, input.envelopeFrom);
      if (why) return { detail: `no reply: ${why}` };
      const to = facts.from ?? input.envelopeFrom;
      const result = await autoReply(list.address, to, `request ${list.address} ${input.sha256}`, requestHelp(list.address, list.displayName, list.settings.description), {
        inReplyTo: facts.messageId || undefined,
      });
      if (result.skipped) return { detail: `no reply: ${result.skipped}` };
      return { detail: `help sent to ${to}` };
    },

    /**
     * The one reply to -request/-join/-leave mail, counted against the daily limit. From the -request address, so a
     * person's answer to it is read as commands again (it carries Auto-Submitted, so no robot answers it); the
     * return path is -bounces.
     */
    async sendCommandReply(input: { list: string; to: string; ref: string; inReplyTo?: string; reply: Omit<CommandReplyInput, 'list' | 'displayName'> }): Promise<NoticeResult> {
      const list = await getList(deps.db, input.list);
      if (!list) return { sent: [], failed: [], skipped: 'the list no longer exists' };
      const notice = commandReply({ ...input.reply, list: list.address, displayName: list.displayName });
      // Only a well-formed Message-ID is echoed into In-Reply-To; anything else is left out.
      const inReplyTo = input.inReplyTo && /^<[^<>\s]{1,250}>$/.test(input.inReplyTo) ? input.inReplyTo : undefined;
      return autoReply(list.address, input.to, input.ref, notice, { inReplyTo, from: listSubAddress(list.address, 'request') });
    },

    /**
     * The owners learn that a workflow ended failed: once per workflow (failure_notices), however often this is
     * retried. A crash between the owners' server accepting it and the row being marked is the one duplicate.
     */
    async notifyOwnersOfFailure(input: { list: string; workflowId: string; kind: string; reason: string }): Promise<NoticeResult> {
      const { rows } = await deps.db.query<{ sent: boolean }>(
        `INSERT INTO failure_notices (workflow_id, list_address, reason) VALUES ($1, $2, $3)
         ON CONFLICT (workflow_id) DO UPDATE SET reason = failure_notices.reason RETURNING sent_at IS NOT NULL AS sent`,
        [input.workflowId, input.list.toLowerCase(), input.reason],
      );
      if (rows[0]?.sent) return { sent: [], failed: [], skipped: 'the owners were told already' };
      const list = await getList(deps.db, input.list);
      if (!list) return { sent: [], failed: [], skipped: 'the list no longer exists' };
      const staff = await listStaff(deps.db, list.id);
      const result = await send(list.address, staff.owners, failedForOwners({ ...input, list: list.address }));
      await deps.db.query('UPDATE failure_notices SET sent_at = now() WHERE workflow_id = $1', [input.workflowId]);
      return result;
    },

    /** Mail to -bounces is kept for bounce processing. */
    async recordInboundBounce(input: { list: string; sha256: string; workflowId: string; detail?: string }): Promise<{ detail: string }> {
      const list = await getList(deps.db, input.list);
      let recipient: string | null = null;
      if (list && input.detail) {
        const { rows } = await deps.db.query<{ address: string }>('SELECT address FROM members WHERE list_id = $1 AND verp_token = $2', [
          list.id,
          input.detail.toLowerCase(),
        ]);
        recipient = rows[0]?.address ?? null;
      }
      await recordBounceEvent(deps.db, {
        listId: list?.id ?? null,
        recipient,
        source: 'inbound',
        workflowId: input.workflowId,
        sha256: input.sha256,
        reason: input.detail ? `VERP token ${input.detail}` : 'bounce without VERP token',
      });
      return { detail: recipient ? `recorded a bounce for ${recipient}` : 'recorded for bounce processing' };
    },
  };
}
