// The archive's queries: filing a message with its thread, full-text search, a thread, and export in date order.
import type { ArchiveFacts } from '../mail/archive.js';
import { messageIdHash, permalink } from '../mail/links.js';
import { transaction, type Db, type Queryable } from './db.js';

/** How far apart (days) a reply without a usable parent and its subject's thread may be, as HyperKitty bounds it. */
export const SUBJECT_WINDOW_DAYS = 30;

export interface Filing {
  listId: number;
  sha256: string;
  facts: ArchiveFacts;
  seq?: number | null;
  workflowId?: string | null;
  envelopeFrom?: string | null;
  /** When the message has no readable Date: (acceptance time for live posts, the From_ line for imports). */
  fallbackDate: string;
}

export interface Filed {
  filed: boolean;
  /** Why not, when not filed: a message with this Message-ID (or from this post) is in the archive already. */
  duplicate: boolean;
  messageIdHash: string;
  threadId: string;
}

/**
 * Files one message, threading it under an archived parent (In-Reply-To, then References nearest first) or,
 * for a reply whose parents are not archived, under the latest thread with the same base subject within
 * SUBJECT_WINDOW_DAYS. Filing the same post or Message-ID twice is harmless: the first filing stands.
 */
export async function fileMessage(db: Db, f: Filing): Promise<Filed> {
  return transaction(db, async (client) => {
    // One filer per list at a time, so a reply filed just after its parent sees it.
    await client.query('SELECT pg_advisory_xact_lock(7451005, $1::int)', [f.listId % 2 ** 31]);
    const existing = await client.query<{ message_id_hash: string; thread_id: string }>(
      'SELECT message_id_hash, thread_id FROM archive WHERE list_id = $1 AND (message_id = $2 OR workflow_id = $3) LIMIT 1',
      [f.listId, f.facts.messageId, f.workflowId ?? null],
    );
    if (existing.rows[0]) return { filed: false, duplicate: true, messageIdHash: existing.rows[0].message_id_hash, threadId: existing.rows[0].thread_id };

    const hash = messageIdHash(f.facts.messageId);
    const date = f.facts.date ?? f.fallbackDate;
    const parents = [...new Set([...(f.facts.inReplyTo ? [f.facts.inReplyTo] : []), ...[...f.facts.references].reverse()])].filter((id) => id !== f.facts.messageId);
    let parent: { id: string; thread_id: string } | undefined;
    if (parents.length) {
      const { rows } = await client.query<{ id: string; thread_id: string; message_id: string }>(
        'SELECT id, thread_id, message_id FROM archive WHERE list_id = $1 AND message_id = ANY($2::text[])',
        [f.listId, parents],
      );
      parent = parents.map((p) => rows.find((r) => r.message_id === p)).find((r) => r !== undefined);
    }
    if (!parent && (f.facts.isReply || parents.length) && f.facts.baseSubject) {
      const { rows } = await client.query<{ id: string; thread_id: string }>(
        `SELECT id, thread_id FROM archive WHERE list_id = $1 AND base_subject = $2
           AND date BETWEEN $3::timestamptz - make_interval(days => $4) AND $3::timestamptz + make_interval(days => $4)
           -- not a reply to this very message filed early: that one is adopted below instead
           AND coalesce(in_reply_to, '') <> $5 AND NOT refs @> ARRAY[$5]::text[]
         ORDER BY abs(extract(epoch FROM date - $3::timestamptz)), id LIMIT 1`,
        [f.listId, f.facts.baseSubject, date, SUBJECT_WINDOW_DAYS, f.facts.messageId],
      );
      parent = rows[0];
    }
    const threadId = parent?.thread_id ?? hash;
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO archive (list_id, seq, workflow_id, sha256, message_id, message_id_hash, in_reply_to, refs, parent_id, thread_id,
         subject, base_subject, author_name, author_address, envelope_from, date, body_text)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
      [
        f.listId, f.seq ?? null, f.workflowId ?? null, f.sha256, f.facts.messageId, hash, f.facts.inReplyTo, f.facts.references,
        parent?.id ?? null, threadId, f.facts.subject, f.facts.baseSubject, f.facts.authorName, f.facts.authorAddress,
        f.envelopeFrom ?? null, date, stripNul(f.facts.text),
      ],
    );
    await adoptEarlyReplies(client, f.listId, inserted.rows[0]?.id as string, f.facts.messageId, threadId);
    return { filed: true, duplicate: false, messageIdHash: hash, threadId };
  });
}

/**
 * Replies filed before their parent (a held post approved after the answers to it, an export out of date order)
 * started threads of their own: the parent adopts them, and their threads join its thread.
 */
async function adoptEarlyReplies(client: Queryable, listId: number, id: string, messageId: string, threadId: string): Promise<void> {
  const { rows } = await client.query<{ thread_id: string }>(
    `UPDATE archive SET parent_id = $2 WHERE list_id = $1 AND parent_id IS NULL AND thread_id = message_id_hash
       AND thread_id <> $4 AND (in_reply_to = $3 OR refs @> ARRAY[$3]::text[])
     RETURNING thread_id`,
    [listId, id, messageId, threadId],
  );
  if (rows.length) {
    await client.query('UPDATE archive SET thread_id = $3 WHERE list_id = $1 AND thread_id = ANY($2::text[])', [listId, rows.map((r) => r.thread_id), threadId]);
  }
}

/** PostgreSQL text cannot hold NUL. */
function stripNul(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u0000/g, '');
}

export interface ArchivedPost {
  messageId: string;
  messageIdHash: string;
  threadId: string;
  /** messageIdHash of the post it replies to, when that is archived. */
  parentHash: string | null;
  seq: number | null;
  date: string;
  authorName: string;
  authorAddress: string | null;
  subject: string;
  permalink: string;
}

export interface SearchHit extends ArchivedPost {
  rank: number;
}

interface Row {
  message_id: string;
  message_id_hash: string;
  thread_id: string;
  parent_hash: string | null;
  seq: string | null;
  date: Date;
  author_name: string;
  author_address: string | null;
  subject: string;
  list_address: string;
  rank?: number;
}

const COLUMNS = `a.message_id, a.message_id_hash, a.thread_id, p.message_id_hash AS parent_hash, a.seq, a.date,
  a.author_name, a.author_address, a.subject, l.address AS list_address`;
const FROM = 'archive a JOIN lists l ON l.id = a.list_id LEFT JOIN archive p ON p.id = a.parent_id';

function toPost(r: Row, publicUrl: string): ArchivedPost {
  return {
    messageId: r.message_id,
    messageIdHash: r.message_id_hash,
    threadId: r.thread_id,
    parentHash: r.parent_hash,
    seq: r.seq === null ? null : Number(r.seq),
    date: r.date.toISOString(),
    authorName: r.author_name,
    authorAddress: r.author_address,
    subject: r.subject,
    permalink: permalink(publicUrl, r.list_address, r.message_id),
  };
}

/** Posts matching a web-search style query (words, "phrases", or, -not), best first, then newest first. */
export async function searchArchive(db: Queryable, listId: number, query: string, options: { limit?: number; publicUrl: string }): Promise<SearchHit[]> {
  const { rows } = await db.query<Row & { rank: number }>(
    `SELECT ${COLUMNS}, ts_rank_cd(a.search, q) AS rank
     FROM ${FROM}, websearch_to_tsquery('simple', $2) q
     WHERE a.list_id = $1 AND a.search @@ q
     ORDER BY rank DESC, a.date DESC, a.id DESC LIMIT $3`,
    [listId, query, options.limit ?? 20],
  );
  return rows.map((r) => ({ ...toPost(r, options.publicUrl), rank: Number(r.rank) }));
}

/** The thread a post (named by its Message-ID hash) belongs to, oldest first; empty when there is no such post. */
export async function threadOf(db: Queryable, listId: number, hash: string, publicUrl: string): Promise<ArchivedPost[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM ${FROM}
     WHERE a.list_id = $1 AND a.thread_id = (SELECT thread_id FROM archive WHERE list_id = $1 AND message_id_hash = $2 LIMIT 1)
     ORDER BY a.date, a.id`,
    [listId, hash.trim().toUpperCase()],
  );
  return rows.map((r) => toPost(r, publicUrl));
}

export interface ExportedMessage {
  raw: Buffer;
  envelopeFrom: string | null;
  authorAddress: string | null;
  date: Date;
}

/** Every archived message of a list from `since` on, in date order, a page at a time so memory stays bounded. */
export async function* exportArchive(db: Queryable, listId: number, since: Date | null, pageSize = 200): AsyncGenerator<ExportedMessage> {
  let after = null as { date: Date; id: string } | null;
  for (;;) {
    const { rows }: { rows: { id: string; raw: Buffer; envelope_from: string | null; author_address: string | null; date: Date }[] } = await db.query(
      `SELECT a.id, m.raw, a.envelope_from, a.author_address, a.date FROM archive a JOIN messages m ON m.sha256 = a.sha256
       WHERE a.list_id = $1 AND ($2::timestamptz IS NULL OR a.date >= $2)
         AND ($3::timestamptz IS NULL OR (a.date, a.id) > ($3::timestamptz, $4::bigint))
       ORDER BY a.date, a.id LIMIT $5`,
      [listId, since, after?.date ?? null, after?.id ?? null, pageSize],
    );
    for (const r of rows) yield { raw: r.raw, envelopeFrom: r.envelope_from, authorAddress: r.author_address, date: r.date };
    const last = rows.at(-1);
    if (!last || rows.length < pageSize) return;
    after = { date: last.date, id: last.id };
  }
}

/** How many posts a list's archive holds. */
export async function countArchived(db: Queryable, listId: number): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM archive WHERE list_id = $1', [listId]);
  return Number(rows[0]?.n ?? 0);
}
