// Mail listflow writes itself: notices to posters and moderators, -owner forwarding, -request help.
import MailComposer from 'nodemailer/lib/mail-composer';
import { listSubAddress } from '../mail/address.js';
import {
  expiredForPoster,
  heldForModerators,
  heldForPoster,
  rejectedForPoster,
  requestHelp,
  type Notice,
  type PostRef,
} from '../mail/notices.js';
import { noAutoReplyReason, readFacts } from '../mail/message.js';
import { getList } from '../store/lists.js';
import { listStaff } from '../store/members.js';
import { getMessage } from '../store/messages.js';
import { recordBounceEvent } from '../store/deliveries.js';
import { requireTransport, type ActivityDeps } from './deps.js';
import { sendTransaction, type Outcome } from './smtp.js';

export type PosterNotice =
  | { kind: 'held'; reason: string; days: number }
  | { kind: 'rejected'; reason: string }
  | { kind: 'expired'; days: number; action: 'discard' | 'reject' };

export interface NoticeResult {
  sent: string[];
  /** Recipients that could not be reached now; the activity is retried for temporary trouble. */
  failed: string[];
}

function noticeError(outcome: Outcome): Error | null {
  if (outcome.deferred.length === 0) return null;
  return new Error(`notice deferred for ${outcome.deferred.map((d) => `${d.recipient} (${d.code ?? 'no code'} ${d.response})`).join(', ')}`);
}

export function createNoticeActivities(deps: ActivityDeps) {
  async function send(list: string, to: string[], notice: Notice, options: { inReplyTo?: string; attach?: Buffer } = {}): Promise<NoticeResult> {
    if (to.length === 0) return { sent: [], failed: [] };
    const composer = new MailComposer({
      from: listSubAddress(list, 'owner'),
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
    const outcome = await sendTransaction(requireTransport(deps), listSubAddress(list, 'bounces'), to, raw);
    const err = noticeError(outcome);
    if (err) throw err;
    return { sent: outcome.sent, failed: outcome.failed.map((f) => f.recipient) };
  }

  return {
    async notifyPoster(input: { post: PostRef; to: string; messageId: string; notice: PosterNotice }): Promise<NoticeResult> {
      const n = input.notice;
      const notice =
        n.kind === 'held' ? heldForPoster(input.post, n.reason, n.days) : n.kind === 'rejected' ? rejectedForPoster(input.post, n.reason) : expiredForPoster(input.post, n.days, n.action);
      return send(input.post.list, [input.to], notice, { inReplyTo: input.messageId || undefined });
    },

    async notifyModerators(input: { post: PostRef; reason: string; days: number; sha256: string }): Promise<NoticeResult> {
      const list = await getList(deps.db, input.post.list);
      if (!list) return { sent: [], failed: [] };
      const staff = await listStaff(deps.db, list.id);
      const to = staff.moderators.length > 0 ? staff.moderators : staff.owners;
      const raw = await getMessage(deps.db, input.sha256);
      return send(list.address, to, heldForModerators(input.post, input.reason, input.days), { attach: raw });
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

    /** -request, -join, -leave and -confirm mail: a help reply, unless the mail is automatic. */
    async answerRequest(input: { list: string; sha256: string; envelopeFrom: string }): Promise<{ detail: string }> {
      const list = await getList(deps.db, input.list);
      if (!list) return { detail: 'the list no longer exists; no reply' };
      const facts = readFacts(await getMessage(deps.db, input.sha256));
      const why = noAutoReplyReason(facts, input.envelopeFrom);
      if (why) return { detail: `no reply: ${why}` };
      const to = facts.from ?? input.envelopeFrom;
      await send(list.address, [to], requestHelp(list.address, list.displayName, list.settings.description), {
        inReplyTo: facts.messageId || undefined,
      });
      return { detail: `help sent to ${to}` };
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
