// Digest activities: feeding a list's digest workflow (core queue) and sending an issue (delivery queue).
import { randomBytes } from 'node:crypto';
import { withHeartbeat } from './deliver.js';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { listSubAddress } from '../mail/address.js';
import { composeDigest } from '../mail/digest.js';
import { volumeKey } from '../mail/digest-schedule.js';
import { clean, readFacts } from '../mail/message.js';
import { transaction } from '../store/db.js';
import { recordBounceEvent } from '../store/deliveries.js';
import { countDigestMembers, countSends, createIssue, findIssue, lastIssue, markSends, pendingSends, postsAlreadyIssued } from '../store/digests.js';
import { getList } from '../store/lists.js';
import { getMessage, putMessage } from '../store/messages.js';
import {
  digestPostSignal,
  digestWorkflowId,
  ListflowKind,
  ListflowList,
  type DigestNumbering,
  type DigestPostRef,
} from '../workflows/messages.js';
import { feedFailures, queuesOf, refusalsOf } from './bouncer-feed.js';
import { requireTransport, type ActivityDeps } from './deps.js';
import { sendTransaction } from './smtp.js';

export interface DigestSettings {
  exists: boolean;
  enabled: boolean;
  /** 0: no size trigger. */
  thresholdBytes: number;
  period: 'daily' | 'weekly' | 'monthly';
  volumeFrequency: 'yearly' | 'quarterly' | 'monthly' | 'weekly' | 'daily';
  digestMembers: number;
  /** The list's last issue, as the workflow numbers from it. */
  last: DigestNumbering | null;
}

export interface IssueInput {
  list: string;
  volume: number;
  number: number;
  posts: DigestPostRef[];
}

export interface IssueResult {
  /** What was stored: it may carry fewer posts than asked for (some already were in an earlier issue). */
  posts: number;
  recipients: number;
  sent: number;
  failed: number;
}

export function createDigestCoreActivities(deps: ActivityDeps) {
  return {
    /**
     * Hands an accepted post to its list's digest, starting the digest workflow when none runs (signal-with-
     * start is atomic, so a digest that is just ending cannot lose it). Only lists with digest members get a
     * digest workflow: most lists have none, and a workflow per list with nobody to send to would be waste.
     */
    async registerDigestPost(input: { list: string; workflowId: string; deliveryTaskQueue: string }): Promise<{ registered: boolean; detail: string }> {
      const list = await getList(deps.db, input.list);
      if (!list) return { registered: false, detail: 'the list no longer exists' };
      if ((await countDigestMembers(deps.db, list.id)) === 0) return { registered: false, detail: 'no digest members' };
      const { rows } = await deps.db.query<{ seq: string; decorated_sha256: string; size: number; accepted_at: Date }>(
        `SELECT p.seq, p.decorated_sha256, m.size, p.accepted_at FROM posts p JOIN messages m ON m.sha256 = p.decorated_sha256 WHERE p.workflow_id = $1`,
        [input.workflowId],
      );
      const row = rows[0];
      if (!row) throw ApplicationFailure.nonRetryable(`post ${input.workflowId} was never accepted`, 'NotAccepted');
      // Subject and author as members read them: from the decorated message (a prefix, an edited version).
      const facts = readFacts(await getMessage(deps.db, row.decorated_sha256));
      const ref: DigestPostRef = {
        workflowId: input.workflowId,
        seq: Number(row.seq),
        sha256: row.decorated_sha256,
        subject: clean(facts.subject, 300),
        author: facts.from,
        size: row.size,
        acceptedAt: row.accepted_at.toISOString(),
      };
      const ctx = Context.current();
      await ctx.client.workflow.signalWithStart('digestWorkflow', {
        workflowId: digestWorkflowId(list.address),
        taskQueue: ctx.info.taskQueue,
        args: [{ list: list.address, deliveryTaskQueue: input.deliveryTaskQueue, pending: [] }],
        signal: digestPostSignal,
        signalArgs: [ref],
        // Not a message: no state or sender, so it never shows up among received or held mail.
        typedSearchAttributes: [
          { key: ListflowList, value: list.address },
          { key: ListflowKind, value: 'digest' },
        ],
      });
      return { registered: true, detail: `in the digest of ${list.address}` };
    },

    /** What the digest workflow needs to know of its list, read at the start of each run. */
    async digestSettings(input: { list: string }): Promise<DigestSettings> {
      const list = await getList(deps.db, input.list);
      if (!list) return { exists: false, enabled: false, thresholdBytes: 0, period: 'daily', volumeFrequency: 'monthly', digestMembers: 0, last: null };
      const s = list.settings;
      const [members, last] = await Promise.all([countDigestMembers(deps.db, list.id), lastIssue(deps.db, list.id)]);
      return {
        exists: true,
        enabled: s.digests_enabled,
        thresholdBytes: s.digest_size_threshold * 1024,
        period: s.digest_period,
        volumeFrequency: s.digest_volume_frequency,
        digestMembers: members,
        last: last ? { volume: last.volume, number: last.number, key: volumeKey(last.createdAt.getTime(), s.digest_volume_frequency) } : null,
      };
    },
  };
}


export function createDigestOutboundActivities(deps: ActivityDeps) {
  /** The issue as stored: composed and recorded (with its recipients) by the first attempt only. */
  async function storedIssue(listId: number, list: NonNullable<Awaited<ReturnType<typeof getList>>>, input: IssueInput) {
    const existing = await findIssue(deps.db, listId, input.volume, input.number);
    if (existing) return existing;
    const already = await postsAlreadyIssued(deps.db, listId, input.posts.map((p) => p.workflowId));
    const posts = input.posts.filter((p) => !already.has(p.workflowId)).sort((a, b) => a.seq - b.seq);
    if (posts.length === 0) return null;
    const raws = await Promise.all(posts.map((p) => getMessage(deps.db, p.sha256)));
    const composed = composeDigest(
      {
        list: list.address,
        displayName: list.displayName,
        description: list.settings.description,
        volume: input.volume,
        number: input.number,
        date: new Date(),
        messageIdBase: `digest.${input.volume}.${input.number}.${randomBytes(6).toString('hex')}@${deps.hostname}`,
        boundarySeed: randomBytes(8).toString('hex'),
      },
      raws,
    );
    return transaction(deps.db, async (client) => {
      const [mimeSha256, plainSha256] = [await putMessage(client, composed.mime), await putMessage(client, composed.plain)];
      return createIssue(client, { listId, volume: input.volume, number: input.number, mimeSha256, plainSha256, posts: posts.map((p) => p.workflowId) });
    });
  }

  return {
    /**
     * Sends one issue to the list's digest members, MIME or plain as each chose, in bulk transactions. Every
     * accepted transaction is recorded before the next, so a retried attempt sends each member the issue at
     * most once (but for the one transaction in flight if the worker dies). Temporary failures leave the
     * members pending and fail the attempt, so Temporal retries them.
     */
    async sendDigestIssue(input: IssueInput): Promise<IssueResult> {
      const transport = requireTransport(deps);
      const list = await getList(deps.db, input.list);
      if (!list) throw ApplicationFailure.nonRetryable(`the list ${input.list} no longer exists`, 'ListGone');
      return withHeartbeat(async () => {
        const issue = await storedIssue(list.id, list, input);
        // Every post was in an earlier issue already (signalled twice): no issue, and its number stays free.
        if (!issue) return { posts: 0, recipients: 0, sent: 0, failed: 0 };
        const from = listSubAddress(list.address, 'bounces');
        const chunk = list.settings.bulk_max_recipients;
        let deferred = 0;
        const refused: { recipient: string; code: number | null; response: string }[] = [];
        for (const format of ['mime', 'plain'] as const) {
          const pending = await pendingSends(deps.db, issue.id, format);
          if (pending.length === 0) continue;
          const raw = await getMessage(deps.db, format === 'mime' ? issue.mimeSha256 : issue.plainSha256);
          for (let i = 0; i < pending.length; i += chunk) {
            const outcome = await sendTransaction(transport, from, pending.slice(i, i + chunk), raw);
            await markSends(deps.db, issue.id, outcome.sent, 'sent', 250, null);
            refused.push(...outcome.failed);
            for (const f of outcome.failed) {
              await markSends(deps.db, issue.id, [f.recipient], 'failed', f.code, f.response);
              await recordBounceEvent(deps.db, { listId: list.id, recipient: f.recipient, source: 'delivery', workflowId: digestWorkflowId(list.address), code: f.code, reason: f.response });
            }
            for (const d of outcome.deferred) await markSends(deps.db, issue.id, [d.recipient], 'pending', d.code, d.response);
            deferred += outcome.deferred.length;
          }
        }
        // Refusals are bounces for the members' bouncers; the issue is the bounce's ID, so a retried attempt counts nothing twice.
        if (refused.length > 0 && list.settings.process_bounces) {
          await feedFailures(Context.current().client, queuesOf(deps), list.address, `${digestWorkflowId(list.address)}/${input.volume}/${input.number}`, 'delivery', refusalsOf(refused));
        }
        const counts = await countSends(deps.db, issue.id);
        if (deferred > 0) throw new Error(`digest ${input.volume}/${input.number}: ${deferred} recipient(s) deferred; retrying them`);
        return { posts: issue.posts.length, recipients: counts.total, sent: counts.sent, failed: counts.failed };
      });
    },
  };
}
