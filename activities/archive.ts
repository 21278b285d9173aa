// Filing an accepted post in its list's archive (the decorated list-level message, not per-recipient copies).
import { ApplicationFailure } from '@temporalio/common';
import { archiveFacts } from '../mail/archive.js';
import { fileMessage } from '../store/archive.js';
import { getList } from '../store/lists.js';
import { getMessage } from '../store/messages.js';
import type { ActivityDeps } from './deps.js';

export interface ArchiveResult {
  filed: boolean;
  /** not filed: the list's policy is never, or the Message-ID is archived already. */
  reason: string | null;
  messageIdHash: string | null;
  threadId: string | null;
}

export function createArchiveActivities(deps: ActivityDeps) {
  return {
    /** Files the post acceptPost stored; safe to repeat (a retry or a second copy of a Message-ID files once). */
    async archivePost(input: { workflowId: string; list: string }): Promise<ArchiveResult> {
      const list = await getList(deps.db, input.list);
      // Deleted since acceptPost: there is no archive left to file in, and delivery must still go on.
      if (!list) return { filed: false, reason: `the list ${input.list} no longer exists`, messageIdHash: null, threadId: null };
      if (list.settings.archive_policy === 'never') return { filed: false, reason: 'archive_policy is never', messageIdHash: null, threadId: null };
      const { rows } = await deps.db.query<{ seq: string; decorated_sha256: string; accepted_at: Date; envelope_from: string | null }>(
        `SELECT p.seq, p.decorated_sha256, p.accepted_at, i.envelope_from
         FROM posts p LEFT JOIN inbound i ON i.workflow_id = p.workflow_id WHERE p.workflow_id = $1`,
        [input.workflowId],
      );
      const post = rows[0];
      if (!post) throw ApplicationFailure.nonRetryable(`the post ${input.workflowId} was never accepted`, 'NotAccepted');
      const raw = await getMessage(deps.db, post.decorated_sha256);
      const filed = await fileMessage(deps.db, {
        listId: list.id,
        sha256: post.decorated_sha256,
        facts: await archiveFacts(raw),
        seq: Number(post.seq),
        workflowId: input.workflowId,
        envelopeFrom: post.envelope_from,
        fallbackDate: post.accepted_at.toISOString(),
      });
      return {
        filed: filed.filed,
        reason: filed.duplicate ? 'already archived (same post or Message-ID)' : null,
        messageIdHash: filed.messageIdHash,
        threadId: filed.threadId,
      };
    },
  };
}
