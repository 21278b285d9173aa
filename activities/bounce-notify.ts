// Bounce processing's mail: the member's disable notice and warnings (each with a re-enable address and link),
// the removal notice, the owners' notices, the daily policy summary, and unrecognised bounces forwarded.
import MailComposer from 'nodemailer/lib/mail-composer';
import { listSubAddress } from '../mail/address.js';
import {
  memberDisabled,
  memberRemoved,
  memberWarning,
  ownerDisabled,
  ownerPolicyRefusals,
  ownerRemoved,
  ownerUnrecognised,
  type BounceLine,
  type PolicyDomain,
  type ReenableWays,
} from '../mail/bounce-notices.js';
import type { Notice } from '../mail/notices.js';
import { issueToken } from '../mail/tokens.js';
import { siteSecret } from '../store/db.js';
import { getList } from '../store/lists.js';
import { listStaff } from '../store/members.js';
import { getMessage } from '../store/messages.js';
import { FORWARD_MARK } from './bounces.js';
import { requireTransport, type ActivityDeps } from './deps.js';
import { signOutgoing } from './signing.js';
import { sendTransaction } from './smtp.js';

export interface BounceNoticeResult {
  sent: string[];
  failed: string[];
  detail: string;
}

/** The -confirm+TOKEN address and the link that turn a member's delivery back on, valid until the removal. */
export function reenableWays(secret: string, publicUrl: string, list: string, verpToken: string, untilIso: string): ReenableWays {
  const token = issueToken(secret, {
    kind: 'reenable',
    action: 'reenable',
    list: list.toLowerCase(),
    ref: Buffer.from(verpToken, 'utf8'),
    // A day's grace past the removal: a reply written on the last day still finds the member (or says it is too late).
    expiresAt: Math.ceil(Date.parse(untilIso) / 1000) + 86_400,
  });
  return {
    address: listSubAddress(list, 'confirm', token),
    url: `${publicUrl.replace(/\/+$/, '')}/c/${encodeURIComponent(list.toLowerCase())}/${token}`,
  };
}

export function createBounceNoticeActivities(deps: ActivityDeps) {
  /**
   * Automatic mail (Auto-Submitted: auto-generated, RFC 3834) From the list's -owner address with a -bounces return
   * path (the member's VERP one for member notices), so nothing answers it and its own bounces come back here.
   */
  async function send(list: string, to: string[], returnPath: string, notice: Notice, options: { attach?: Buffer; replyTo?: string; headers?: Record<string, string> } = {}): Promise<BounceNoticeResult> {
    if (to.length === 0) return { sent: [], failed: [], detail: 'nobody to tell' };
    const composer = new MailComposer({
      from: listSubAddress(list, 'owner'),
      to,
      subject: notice.subject,
      text: notice.text,
      messageId: `<${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@${deps.hostname}>`,
      ...(options.replyTo ? { replyTo: options.replyTo } : {}),
      headers: { 'Auto-Submitted': 'auto-generated', Precedence: 'bulk', 'X-BeenThere': list, ...options.headers },
      ...(options.attach ? { attachments: [{ content: options.attach, contentType: 'message/rfc822', filename: 'bounce.eml' }] } : {}),
    });
    const raw = await composer.compile().build();
    const outcome = await sendTransaction(requireTransport(deps), returnPath, to, await signOutgoing(raw, list, deps));
    return {
      sent: outcome.sent,
      failed: [...outcome.failed, ...outcome.deferred].map((f) => f.recipient),
      detail: [
        outcome.sent.length ? `sent to ${outcome.sent.join(', ')}` : '',
        ...outcome.failed.map((f) => `refused for ${f.recipient} (${f.code ?? ''} ${f.response})`),
        ...outcome.deferred.map((f) => `deferred for ${f.recipient} (${f.code ?? ''} ${f.response})`),
      ]
        .filter(Boolean)
        .join('; '),
    };
  }

  async function owners(list: string): Promise<string[]> {
    const l = await getList(deps.db, list);
    return l ? (await listStaff(deps.db, l.id)).owners : [];
  }

  /** Owners' notices must arrive: a deferral is retried. */
  async function toOwners(list: string, notice: Notice, attach?: Buffer): Promise<BounceNoticeResult> {
    const r = await send(list, await owners(list), listSubAddress(list, 'bounces'), notice, attach ? { attach, headers: { [FORWARD_MARK]: list } } : {});
    if (r.failed.length > 0 && r.sent.length === 0 && /deferred/.test(r.detail)) throw new Error(`owner notice ${r.detail}`);
    return r;
  }

  return {
    /**
     * To a member whose mail bounces: disabled (the first warning), a later warning, or removed. Sent once and not
     * retried on failure: the mailbox is the one that bounces.
     */
    async notifyBouncingMember(input: {
      list: string;
      address: string;
      kind: 'disabled' | 'warning' | 'removed';
      verpToken: string;
      score: number;
      events: BounceLine[];
      warning: number;
      warnings: number;
      removalAt: string;
    }): Promise<BounceNoticeResult> {
      const returnPath = listSubAddress(input.list, 'bounces', input.verpToken);
      if (input.kind === 'removed') return send(input.list, [input.address], returnPath, memberRemoved(input.list, input.address));
      const reenable = reenableWays(await siteSecret(deps.db), deps.publicUrl, input.list, input.verpToken, input.removalAt);
      const n = { list: input.list, address: input.address, score: input.score, events: input.events, warning: input.warning, warnings: input.warnings, removalAt: input.removalAt, reenable };
      // A plain reply goes to the re-enable address too.
      return send(input.list, [input.address], returnPath, input.kind === 'disabled' ? memberDisabled(n) : memberWarning(n), { replyTo: reenable.address });
    },

    async notifyOwnersOfBouncer(input: { list: string; address: string; kind: 'disabled' | 'removed'; score: number; events: BounceLine[]; warnings: number; removalAt: string }): Promise<BounceNoticeResult> {
      const notice =
        input.kind === 'disabled'
          ? ownerDisabled(input.list, input.address, input.score, input.events, input.warnings, input.removalAt)
          : ownerRemoved(input.list, input.address, input.events);
      return toOwners(input.list, notice);
    },

    /** The daily summary of policy refusals. */
    async notifyOwnersOfPolicyRefusals(input: { list: string; domains: PolicyDomain[]; total: number }): Promise<BounceNoticeResult> {
      return toOwners(input.list, ownerPolicyRefusals(input.list, input.domains, input.total));
    },

    /** Mail to -bounces bounce processing did not act on: attached, with the reason, to the owners. */
    async forwardUncaughtBounce(input: { list: string; sha256: string; workflowId: string; why: string }): Promise<BounceNoticeResult> {
      const raw = await getMessage(deps.db, input.sha256);
      const r = await toOwners(input.list, ownerUnrecognised(input.list, input.why, input.workflowId), raw);
      return r.sent.length || r.failed.length ? r : { ...r, detail: 'the list has no owners; the message is kept in the store' };
    },
  };
}
