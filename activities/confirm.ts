// Moderation by mail: a reply to <list>-confirm+TOKEN is checked and, when it may, decides the held post.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { simpleParser } from 'mailparser';
import { findModeratorCommand } from '../mail/moderator-command.js';
import { clean, noAutoReplyReason, readFacts } from '../mail/message.js';
import type { WaitingPost } from '../mail/notices.js';
import { postWorkflowIdOf, tokenKey, verifyToken } from '../mail/tokens.js';
import { siteSecret } from '../store/db.js';
import { getList } from '../store/lists.js';
import { findMember } from '../store/members.js';
import { getMessage } from '../store/messages.js';
import { claimToken, pruneUsedTokens } from '../store/tokens.js';
import {
  heldPostSignal,
  ListflowKind,
  ListflowList,
  moderateUpdate,
  remindersWorkflowId,
  statusQuery,
  type ModerationDecision,
  type PostStatus,
} from '../workflows/messages.js';
import type { ActivityDeps } from './deps.js';
import { applyToken, type TokenResult, type TokenVia } from './token-actions.js';

export interface ConfirmReply {
  to: string;
  headline: string;
  details: string[];
  inReplyTo: string;
}

export interface ConfirmOutcome {
  /** applied: the post was decided; refused: nothing changed and the sender is told why; ignored: nothing changed, nobody told. */
  state: 'applied' | 'refused' | 'ignored';
  detail: string;
  /** The post the token named, once the token is known to be genuine. */
  post: string | null;
  reply: ConfirmReply | null;
}

/** How long the moderate update may take before the activity is retried. */
const UPDATE_DEADLINE_MS = 30_000;

/** The first text part of a reply, where a command may be; the whole message is never needed. */
async function firstText(raw: Buffer): Promise<string> {
  try {
    const parsed = await simpleParser(raw, { skipHtmlToText: false, skipImageLinks: true, skipTextLinks: true });
    return (parsed.text ?? '').slice(0, 10_000);
  } catch {
    // A message the parser cannot read has no command in it: the address's action stands.
    return '';
  }
}

export function createConfirmActivities(deps: ActivityDeps) {
  return {
    async applyConfirmation(input: { list: string; sha256: string; envelopeFrom: string; token: string; workflowId: string }): Promise<ConfirmOutcome> {
      const raw = await getMessage(deps.db, input.sha256);
      const facts = readFacts(raw);
      const noReply = noAutoReplyReason(facts, input.envelopeFrom);
      // Automatic mail (a vacation reply, a bounce, another list) never acts on a post, and is never answered.
      if (noReply) return { state: 'ignored', detail: `not acted on and not answered: ${noReply}`, post: null, reply: null };
      const sender = facts.from ?? input.envelopeFrom;
      const subject = `your message to ${input.list}`;
      const refuse = (detail: string, details: string[], post: string | null = null): ConfirmOutcome => ({
        state: 'refused',
        detail,
        post,
        reply: { to: sender, headline: `Nothing was done: ${detail}`, details: [...details, `(In reply to ${subject}.)`], inReplyTo: facts.messageId },
      });

      const list = await getList(deps.db, input.list);
      if (!list) return refuse(`the list ${input.list} no longer exists`, []);
      const check = verifyToken(await siteSecret(deps.db), input.token, list.address, Math.floor(Date.now() / 1000));
      if (!check.ok) {
        return refuse(check.message, [
          check.why === 'expired'
            ? 'The post it was for is no longer held; `listflow held` shows what still waits.'
            : 'Use an address from a moderation notice of this list, unchanged.',
        ]);
      }
      const claims = check.claims;
      if (claims.kind !== 'moderation') {
        // A subscription confirmation or a re-enable: anyone holding the token may use it (it was mailed to them).
        const r = await applyToken(deps, Context.current().client, { list: list.address, token: input.token, by: sender, via: 'mail', claimedBy: input.workflowId });
        return {
          state: r.state,
          detail: r.headline,
          post: null,
          reply: { to: sender, headline: r.headline, details: r.details.filter(Boolean), inReplyTo: facts.messageId },
        };
      }
      const postId = postWorkflowIdOf(list.address, claims.ref);

      // Either the From address or the envelope sender must be on the list's staff.
      const candidates = [...new Set([facts.from, input.envelopeFrom].filter((a): a is string => !!a))];
      let moderator: string | null = null;
      for (const address of candidates) {
        const roles = await findMember(deps.db, list.id, address);
        if (roles.some((r) => r.role === 'owner' || r.role === 'moderator')) {
          moderator = address;
          break;
        }
      }
      if (!moderator) {
        return refuse(`${clean(sender)} is not a moderator or owner of ${list.address}`, [
          'Only the moderators and owners of the list can decide on held posts. The post is unchanged.',
        ], postId);
      }

      const command = findModeratorCommand(facts.subject, await firstText(raw));
      if (command && command.action !== claims.action) {
        return refuse(`this address is for "${claims.action}", but your message says "${command.action}" (in its ${command.source})`, [
          `The post is unchanged. To ${command.action} it, write to the ${command.action} address of the moderation notice.`,
        ], postId);
      }

      const used = await claimToken(deps.db, {
        tokenKey: tokenKey(input.token),
        kind: claims.kind,
        subject: postId,
        action: claims.action,
        usedBy: moderator,
        claimedBy: input.workflowId,
        expiresAt: new Date(claims.expiresAt * 1000),
      });
      await pruneUsedTokens(deps.db);
      if (used) return refuse(`this address was already used, by ${clean(used.usedBy)} at ${used.usedAt}`, ['Each moderation address works once.'], postId);

      const by = `${moderator} (by mail)`;
      const decision: ModerationDecision = {
        action: claims.action as ModerationDecision['action'],
        by,
        ...(claims.action === 'reject' && command?.reason ? { reason: command.reason } : {}),
      };
      const client = Context.current().client;
      const handle = client.workflow.getHandle(postId);
      let status: PostStatus;
      try {
        status = await client.connection.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () => handle.executeUpdate(moderateUpdate, { args: [decision] }));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return refuse('the post is not held any more (its workflow has ended)', [], postId);
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        const now = await handle.query(statusQuery).catch(() => null);
        // An earlier attempt of this activity may have decided it before failing to report back.
        if (!(now && now.decision.moderation?.by === by && now.decision.moderation.action === decision.action)) {
          const why = (err.cause as Error | undefined)?.message ?? err.message;
          return refuse(why, now ? [`It was ${now.decision.moderation ? `${now.decision.moderation.action} by ${now.decision.moderation.by}` : now.state}.`] : [], postId);
        }
        status = now;
      }
      const verb = { approve: 'Approved', reject: 'Rejected', discard: 'Discarded', defer: 'Deferred' }[decision.action];
      const detail = `${verb.toLowerCase()} ${postId} for ${moderator}`;
      return {
        state: 'applied',
        detail,
        post: postId,
        reply: {
          to: sender,
          headline: `${verb}: the post from ${clean(status.sender ?? 'an unknown sender')} with the subject "${clean(status.subject)}"`,
          details: [
            `Post: ${postId}`,
            `It is now ${status.state}.`,
            ...(decision.action === 'reject' ? [`The poster is told: ${decision.reason ?? 'rejected by a moderator'}`] : []),
          ],
          inReplyTo: facts.messageId,
        },
      };
    },

    /** `confirm TOKEN` in -request mail (and any other path that has a token and who gave it). */
    async applyToken(input: { list: string; token: string; by: string; via: TokenVia; claimedBy: string }): Promise<TokenResult> {
      return applyToken(deps, Context.current().client, input);
    },

    /**
     * Tells the list's reminder workflow of a held post, starting it when none runs. Signal-with-start is one
     * atomic call, so a reminder workflow that is just ending cannot lose the post.
     */
    async registerHeldPost(input: { list: string; post: WaitingPost; deliveryTaskQueue: string }): Promise<void> {
      const ctx = Context.current();
      await ctx.client.workflow.signalWithStart('remindersWorkflow', {
        workflowId: remindersWorkflowId(input.list),
        taskQueue: ctx.info.taskQueue,
        args: [{ list: input.list, deliveryTaskQueue: input.deliveryTaskQueue, waiting: [] }],
        signal: heldPostSignal,
        signalArgs: [input.post],
        // No state or sender: it is not a message, and must not show up among received or held mail.
        typedSearchAttributes: [
          { key: ListflowList, value: input.list },
          { key: ListflowKind, value: 'reminders' },
        ],
      });
    },
  };
}
