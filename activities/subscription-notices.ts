// Subscription mail: confirmation requests, the moderators' notice, welcome and goodbye messages (delivery queue).
import { Context } from '@temporalio/activity';
import MailComposer from 'nodemailer/lib/mail-composer';
import { listSubAddress } from '../mail/address.js';
import { oneClickUrl } from '../mail/links.js';
import type { Notice } from '../mail/notices.js';
import {
  approvalNeeded,
  confirmationNeeded,
  confirmUrl,
  goodbyeMessage,
  requestRejected,
  welcomeMessage,
  type SubscriptionVerb,
} from '../mail/subscription-notices.js';
import { issueToken } from '../mail/tokens.js';
import { takeAutoreply } from '../store/autoreplies.js';
import { siteSecret } from '../store/db.js';
import { getList, type List } from '../store/lists.js';
import { findMember, listStaff } from '../store/members.js';
import { clearOwed, countOwed, owedNotices, type OwedNotice } from '../store/subscriptions.js';
import type { SubscriptionRequest } from '../workflows/messages.js';
import { requireTransport, type ActivityDeps } from './deps.js';
import type { NoticeResult } from './notify.js';
import { signOutgoing } from './signing.js';
import { sendTransaction } from './smtp.js';

/** Welcomes and goodbyes one activity sends for the member-notices workflow (each its own SMTP transaction). */
export const OWED_BATCH = 200;

export function createSubscriptionNoticeActivities(deps: ActivityDeps) {
  /** Automatic mail from the list: Auto-Submitted, and the list's -bounces return path so failures come back to listflow. */
  async function send(list: List, to: string[], notice: Notice, o: { from?: string; replyTo?: string } = {}): Promise<NoticeResult> {
    if (to.length === 0) return { sent: [], failed: [] };
    const raw = await new MailComposer({
      from: { name: list.displayName, address: o.from ?? listSubAddress(list.address, 'request') },
      to,
      subject: notice.subject,
      text: notice.text,
      messageId: `<${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@${deps.hostname}>`,
      ...(o.replyTo ? { replyTo: o.replyTo } : {}),
      headers: { 'Auto-Submitted': 'auto-generated', Precedence: 'bulk', 'X-BeenThere': list.address },
    })
      .compile()
      .build();
    const outcome = await sendTransaction(requireTransport(deps), listSubAddress(list.address, 'bounces'), to, await signOutgoing(raw, list.address, deps));
    if (outcome.deferred.length > 0) {
      throw new Error(`deferred for ${outcome.deferred.map((d) => `${d.recipient} (${d.code ?? 'no code'} ${d.response})`).join(', ')}`);
    }
    return { sent: outcome.sent, failed: outcome.failed.map((f) => f.recipient) };
  }

  async function memberMessage(list: List, kind: 'welcome' | 'goodbye', address: string, verpToken: string | null, secret: string): Promise<Notice> {
    const m = {
      list: list.address,
      displayName: list.displayName,
      settings: list.settings,
      address,
      unsubscribeUrl: kind === 'welcome' && verpToken ? oneClickUrl(secret, deps.publicUrl, list.address, verpToken) : null,
      publicUrl: deps.publicUrl,
    };
    return kind === 'welcome' ? welcomeMessage(m) : goodbyeMessage(m);
  }

  const gone: NoticeResult = { sent: [], failed: [], skipped: 'the list no longer exists' };

  return {
    /** To the address: the token (its ref the request id), usable by reply, by `confirm TOKEN`, or by the link. */
    async sendSubscriptionConfirmation(input: { request: SubscriptionRequest; requestId: string; expiresAt: string; days: number; thenModerated: boolean }): Promise<NoticeResult> {
      const r = input.request;
      const list = await getList(deps.db, r.list);
      if (!list) return gone;
      const token = issueToken(await siteSecret(deps.db), {
        kind: 'subscription',
        action: r.action,
        list: list.address,
        ref: Buffer.from(input.requestId, 'hex'),
        expiresAt: Math.ceil(Date.parse(input.expiresAt) / 1000),
      });
      const confirm = { token, address: listSubAddress(list.address, 'confirm', token), url: confirmUrl(deps.publicUrl, list.address, token) };
      const notice = confirmationNeeded({
        list: list.address,
        displayName: list.displayName,
        address: r.address,
        action: r.action,
        requestedBy: r.requestedBy,
        via: r.via,
        confirm,
        expiresAt: input.expiresAt,
        days: input.days,
        thenModerated: input.thenModerated,
      });
      // Anyone can ask for any address: confirmations count against the site's daily limit of automatic mail per address.
      const grant = await takeAutoreply(deps.db, r.address, `subscription ${input.requestId} confirmation`);
      if (!grant.allowed) return { sent: [], failed: [], skipped: grant.reason };
      // From the confirm address too, so "reply" works in clients that ignore Reply-To.
      return send(list, [r.address], notice, { from: confirm.address, replyTo: confirm.address });
    },

    /** One notice per request to the moderators (owners if none). */
    async notifySubscriptionModerators(input: { request: SubscriptionRequest; workflowId: string; expiresAt: string; days: number }): Promise<NoticeResult> {
      const list = await getList(deps.db, input.request.list);
      if (!list) return gone;
      const staff = await listStaff(deps.db, list.id);
      const to = staff.moderators.length > 0 ? staff.moderators : staff.owners;
      if (to.length === 0) return { sent: [], failed: [], skipped: 'the list has no owners or moderators' };
      const r = input.request;
      const notice = approvalNeeded({ list: list.address, address: r.address, action: r.action, requestedBy: r.requestedBy, via: r.via, workflowId: input.workflowId, expiresAt: input.expiresAt, days: input.days });
      return send(list, to, notice, { from: listSubAddress(list.address, 'owner') });
    },

    /** The welcome (with the member's own one-click link) or the goodbye, to one address. */
    async sendMemberMessage(input: { list: string; address: string; kind: 'welcome' | 'goodbye' }): Promise<NoticeResult> {
      const list = await getList(deps.db, input.list);
      if (!list) return gone;
      const member = input.kind === 'welcome' ? (await findMember(deps.db, list.id, input.address)).find((m) => m.role === 'member') : undefined;
      if (input.kind === 'welcome' && !member) return { sent: [], failed: [], skipped: `${input.address} is no longer a member` };
      return send(list, [input.address], await memberMessage(list, input.kind, input.address, member?.verpToken ?? null, await siteSecret(deps.db)));
    },

    /** A moderator rejected the request: the address is told why (a discard tells nobody). */
    async sendRequestRejected(input: { list: string; address: string; action: SubscriptionVerb; reason: string }): Promise<NoticeResult> {
      const list = await getList(deps.db, input.list);
      if (!list) return gone;
      return send(list, [input.address], requestRejected(list.address, input.address, input.action, input.reason));
    },

    /**
     * Up to OWED_BATCH welcomes and goodbyes a list owes after a bulk add or removal, each its own message;
     * each is marked sent as soon as the server took it, so a retried batch repeats none. Returns how many remain.
     */
    async sendOwedMemberNotices(input: { list: string }): Promise<{ sent: number; failed: number; remaining: number }> {
      const list = await getList(deps.db, input.list);
      if (!list) return { sent: 0, failed: 0, remaining: 0 };
      const secret = await siteSecret(deps.db);
      const owed = await owedNotices(deps.db, list, OWED_BATCH);
      let sent = 0;
      let failed = 0;
      for (const n of owed) {
        const r = await send(list, [n.address], await memberMessage(list, n.kind, n.address, n.verpToken, secret));
        // A permanent refusal is given up (bounce processing hears of it); a temporary one throws and is retried.
        await clearOwed(deps.db, [n] as OwedNotice[]);
        if (r.sent.length) sent += 1;
        else failed += 1;
        Context.current().heartbeat(sent + failed);
      }
      return { sent, failed, remaining: await countOwed(deps.db, list) };
    },
  };
}
