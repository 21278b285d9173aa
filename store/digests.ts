// Digest issues and who each was sent to: what makes a retried digest send harmless.
import type { Queryable } from './db.js';

export interface DigestIssueRow {
  id: number;
  volume: number;
  number: number;
  mimeSha256: string;
  plainSha256: string;
  posts: string[];
  createdAt: Date;
}

interface Row {
  id: string;
  volume: number;
  number: number;
  mime_sha256: string;
  plain_sha256: string;
  posts: string[];
  created_at: Date;
}

const toIssue = (r: Row): DigestIssueRow => ({
  id: Number(r.id),
  volume: r.volume,
  number: r.number,
  mimeSha256: r.mime_sha256,
  plainSha256: r.plain_sha256,
  posts: r.posts,
  createdAt: r.created_at,
});

/** Members who take digests (delivery enabled), by format. */
export async function countDigestMembers(db: Queryable, listId: number): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM members
     WHERE list_id = $1 AND role = 'member' AND delivery_status = 'enabled' AND delivery_mode IN ('mime_digest', 'plain_digest')`,
    [listId],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function findIssue(db: Queryable, listId: number, volume: number, number: number): Promise<DigestIssueRow | null> {
  const { rows } = await db.query<Row>('SELECT * FROM digest_issues WHERE list_id = $1 AND volume = $2 AND number = $3', [listId, volume, number]);
  return rows[0] ? toIssue(rows[0]) : null;
}

export async function lastIssue(db: Queryable, listId: number): Promise<DigestIssueRow | null> {
  const { rows } = await db.query<Row>('SELECT * FROM digest_issues WHERE list_id = $1 ORDER BY id DESC LIMIT 1', [listId]);
  return rows[0] ? toIssue(rows[0]) : null;
}

/** Of these posts, those an earlier issue of the list already carried (a post signalled twice goes out once). */
export async function postsAlreadyIssued(db: Queryable, listId: number, workflowIds: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT DISTINCT p AS id FROM digest_issues, unnest(posts) AS p WHERE list_id = $1 AND posts && $2::text[] AND p = ANY($2::text[])`,
    [listId, workflowIds],
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * Records an issue and snapshots its recipients in one transaction (the caller's), unless the issue exists
 * already; either way returns the stored issue, whose bytes are the ones every attempt sends.
 */
export async function createIssue(
  db: Queryable,
  issue: { listId: number; volume: number; number: number; mimeSha256: string; plainSha256: string; posts: string[] },
): Promise<DigestIssueRow> {
  const { rows } = await db.query<Row>(
    `INSERT INTO digest_issues (list_id, volume, number, mime_sha256, plain_sha256, posts) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (list_id, volume, number) DO NOTHING RETURNING *`,
    [issue.listId, issue.volume, issue.number, issue.mimeSha256, issue.plainSha256, issue.posts],
  );
  if (!rows[0]) {
    const existing = await findIssue(db, issue.listId, issue.volume, issue.number);
    if (!existing) throw new Error(`digest issue ${issue.volume}/${issue.number} vanished`);
    return existing;
  }
  await db.query(
    `INSERT INTO digest_sends (issue_id, recipient, format)
     SELECT $1, address, CASE delivery_mode WHEN 'mime_digest' THEN 'mime' ELSE 'plain' END FROM members
     WHERE list_id = $2 AND role = 'member' AND delivery_status = 'enabled' AND delivery_mode IN ('mime_digest', 'plain_digest')
     ON CONFLICT DO NOTHING`,
    [rows[0].id, issue.listId],
  );
  return toIssue(rows[0]);
}

export async function pendingSends(db: Queryable, issueId: number, format: 'mime' | 'plain'): Promise<string[]> {
  const { rows } = await db.query<{ recipient: string }>(
    `SELECT recipient FROM digest_sends WHERE issue_id = $1 AND format = $2 AND status = 'pending' ORDER BY recipient`,
    [issueId, format],
  );
  return rows.map((r) => r.recipient);
}

export async function markSends(
  db: Queryable,
  issueId: number,
  recipients: string[],
  status: 'sent' | 'failed' | 'pending',
  code: number | null,
  response: string | null,
): Promise<void> {
  if (recipients.length === 0) return;
  await db.query(
    `UPDATE digest_sends SET status = $3, last_code = $4, last_response = $5, updated_at = now()
     WHERE issue_id = $1 AND recipient = ANY($2::text[]) AND status = 'pending'`,
    [issueId, recipients, status, code, response === null ? null : response.slice(0, 500)],
  );
}

export async function countSends(db: Queryable, issueId: number): Promise<{ total: number; sent: number; failed: number; pending: number }> {
  const { rows } = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM digest_sends WHERE issue_id = $1 GROUP BY status', [issueId]);
  const c = { total: 0, sent: 0, failed: 0, pending: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    c.total += n;
    if (r.status === 'sent' || r.status === 'failed' || r.status === 'pending') c[r.status] += n;
  }
  return c;
}
