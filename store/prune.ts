// Retention queries: each deletes at most one batch in its own short transaction, so pruning never holds
// locks or a snapshot long enough to slow the mail that is flowing meanwhile.
import type { DatabaseError } from 'pg';
import { transaction, type Db, type Queryable } from './db.js';

/**
 * Where a keyset scan stopped: the next batch starts after this row. `at` is the timestamp as PostgreSQL's text,
 * never a Date: a Date keeps milliseconds, the column microseconds, and a cursor rounded down would return the
 * same row again and again.
 */
export interface Cursor {
  at: string;
  id: string;
}

export interface UnfinishedInbound {
  workflowId: string;
  receivedAt: Date;
  started: boolean;
  cursor: Cursor;
}

/** Inbound rows whose workflow was not yet seen finished, received before `before`, oldest first. */
export async function unfinishedInbound(db: Queryable, before: Date, after: Cursor | null, limit: number): Promise<UnfinishedInbound[]> {
  const { rows } = await db.query<{ workflow_id: string; received_at: Date; at: string; started: boolean }>(
    `SELECT workflow_id, received_at, received_at::text AS at, started_at IS NOT NULL AS started FROM inbound
     WHERE finished_at IS NULL AND received_at < $1 AND ($2::timestamptz IS NULL OR (received_at, workflow_id) > ($2, $3))
     ORDER BY received_at, workflow_id LIMIT $4`,
    [before, after?.at ?? null, after?.id ?? '', limit],
  );
  return rows.map((r) => ({ workflowId: r.workflow_id, receivedAt: r.received_at, started: r.started, cursor: { at: r.at, id: r.workflow_id } }));
}

export async function markFinished(db: Queryable, finished: { workflowId: string; finishedAt: Date }[]): Promise<void> {
  if (finished.length === 0) return;
  await db.query(
    `UPDATE inbound i SET finished_at = f.at FROM unnest($1::text[], $2::timestamptz[]) AS f(id, at)
     WHERE i.workflow_id = f.id AND i.finished_at IS NULL`,
    [finished.map((f) => f.workflowId), finished.map((f) => f.finishedAt)],
  );
}

/** The oldest message whose workflow may still run: nothing stored after it is an orphan yet (an edited approval). */
export async function oldestUnfinished(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>('SELECT min(received_at) AS at FROM inbound WHERE finished_at IS NULL');
  return rows[0]?.at ?? null;
}

export interface LedgerDue {
  workflowId: string;
  listAddress: string;
  cursor: Cursor;
}

/** Finished workflows whose ledger and post row are due (finished before `cutoff`), oldest first. */
export async function ledgerDue(db: Queryable, cutoff: Date, after: Cursor | null, limit: number): Promise<LedgerDue[]> {
  const { rows } = await db.query<{ workflow_id: string; list_address: string; at: string }>(
    `SELECT workflow_id, list_address, finished_at::text AS at FROM inbound
     WHERE finished_at IS NOT NULL AND NOT ledger_pruned AND finished_at < $1
       AND ($2::timestamptz IS NULL OR (finished_at, workflow_id) > ($2, $3))
     ORDER BY finished_at, workflow_id LIMIT $4`,
    [cutoff, after?.at ?? null, after?.id ?? '', limit],
  );
  return rows.map((r) => ({ workflowId: r.workflow_id, listAddress: r.list_address, cursor: { at: r.at, id: r.workflow_id } }));
}

/** One batch of these workflows' delivery ledger rows; returns how many went (0: none left). */
export async function deleteDeliveries(db: Queryable, workflowIds: string[], limit: number): Promise<number> {
  if (workflowIds.length === 0) return 0;
  const r = await db.query(
    `DELETE FROM deliveries WHERE ctid = ANY(ARRAY(SELECT ctid FROM deliveries WHERE workflow_id = ANY($1::text[]) LIMIT $2))`,
    [workflowIds, limit],
  );
  return r.rowCount ?? 0;
}

/**
 * Ends these workflows' per-post rows once their ledger is gone: the post row (its decorated message goes too
 * unless the archive or anything else still references it), and the mark that says the ledger is done.
 */
export async function closeLedgers(db: Db, workflowIds: string[], storedBefore: Date): Promise<{ posts: number; messages: number }> {
  if (workflowIds.length === 0) return { posts: 0, messages: 0 };
  const decorated = await transaction(db, async (client) => {
    const { rows } = await client.query<{ decorated_sha256: string }>('DELETE FROM posts WHERE workflow_id = ANY($1::text[]) RETURNING decorated_sha256', [workflowIds]);
    await client.query('UPDATE inbound SET ledger_pruned = true WHERE workflow_id = ANY($1::text[])', [workflowIds]);
    return rows.map((r) => r.decorated_sha256);
  });
  return { posts: decorated.length, messages: await deleteUnreferencedMessages(db, decorated, storedBefore) };
}

/**
 * Releases the raw messages of one batch of workflows finished before `cutoff`: the inbound record stays (it is
 * the idempotency record) without its hash, an inbound bounce's event loses its hash, and the message goes
 * unless something else references it (the same bytes sent to another list whose post still runs).
 */
export async function releaseRaw(db: Db, cutoff: Date, limit: number, storedBefore: Date): Promise<{ records: number; messages: number }> {
  const released = await transaction(db, async (client) => {
    const { rows } = await client.query<{ workflow_id: string; sha256: string }>(
      `WITH picked AS (
         SELECT workflow_id, sha256 FROM inbound WHERE finished_at IS NOT NULL AND sha256 IS NOT NULL AND finished_at < $1
         ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE inbound i SET sha256 = NULL FROM picked p WHERE i.workflow_id = p.workflow_id RETURNING p.workflow_id, p.sha256`,
      [cutoff, limit],
    );
    if (rows.length > 0) {
      await client.query(`UPDATE bounce_events SET sha256 = NULL WHERE workflow_id = ANY($1::text[]) AND source = 'inbound' AND sha256 IS NOT NULL`, [
        rows.map((r) => r.workflow_id),
      ]);
    }
    return rows;
  });
  const shas = [...new Set(released.map((r) => r.sha256))];
  return { records: released.length, messages: await deleteUnreferencedMessages(db, shas, storedBefore) };
}

/** One batch of idempotency records finished before `cutoff` whose raw message and ledger are gone already. */
export async function deleteInboundRecords(db: Queryable, cutoff: Date, limit: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM inbound WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM inbound WHERE sha256 IS NULL AND ledger_pruned AND finished_at < $1 LIMIT $2))`,
    [cutoff, limit],
  );
  return r.rowCount ?? 0;
}

/** One batch of bounce events recorded before `cutoff`, and the messages only they referenced. */
export async function deleteBounceEvents(db: Db, cutoff: Date, limit: number, storedBefore: Date): Promise<{ events: number; messages: number }> {
  const { rows } = await db.query<{ sha256: string | null }>(
    `DELETE FROM bounce_events WHERE ctid = ANY(ARRAY(SELECT ctid FROM bounce_events WHERE created_at < $1 LIMIT $2)) RETURNING sha256`,
    [cutoff, limit],
  );
  const shas = [...new Set(rows.map((r) => r.sha256).filter((s): s is string => s !== null))];
  return { events: rows.length, messages: await deleteUnreferencedMessages(db, shas, storedBefore) };
}

/**
 * One batch of old digest issues (created before `cutoff`; never a list's latest, which numbers the next):
 * their per-member sends first, then the issues whose sends are gone, then their two stored messages.
 */
export async function deleteDigestIssues(db: Db, cutoff: Date, limit: number, storedBefore: Date): Promise<{ sends: number; issues: number; messages: number }> {
  const old = `d.created_at < $1 AND d.id < (SELECT max(l.id) FROM digest_issues l WHERE l.list_id = d.list_id)`;
  const sends = await db.query(
    `DELETE FROM digest_sends WHERE ctid = ANY(ARRAY(
       SELECT s.ctid FROM digest_issues d JOIN digest_sends s ON s.issue_id = d.id WHERE ${old} LIMIT $2))`,
    [cutoff, limit],
  );
  const { rows } = await db.query<{ mime_sha256: string; plain_sha256: string }>(
    `DELETE FROM digest_issues WHERE id = ANY(ARRAY(
       SELECT d.id FROM digest_issues d WHERE ${old} AND NOT EXISTS (SELECT 1 FROM digest_sends s WHERE s.issue_id = d.id) LIMIT $2))
     RETURNING mime_sha256, plain_sha256`,
    [cutoff, Math.max(1, Math.floor(limit / 50))],
  );
  const shas = [...new Set(rows.flatMap((r) => [r.mime_sha256, r.plain_sha256]))];
  return { sends: sends.rowCount ?? 0, issues: rows.length, messages: await deleteUnreferencedMessages(db, shas, storedBefore) };
}

export interface ExpiredCutoffs {
  /** Used moderation tokens that expired before this are useless. */
  tokens: Date;
  /** Automatic-reply counts of days before this no longer count. */
  autoreplies: Date;
  /** Subscription requests that expired before this: their workflow ended long ago. */
  requests: Date;
}

/** One batch of each table whose rows say when they stop mattering. */
export async function deleteExpired(db: Queryable, c: ExpiredCutoffs, limit: number): Promise<number> {
  let n = 0;
  for (const [sql, at] of [
    ['DELETE FROM used_tokens WHERE ctid = ANY(ARRAY(SELECT ctid FROM used_tokens WHERE expires_at < $1 LIMIT $2))', c.tokens],
    ['DELETE FROM autoreplies WHERE ctid = ANY(ARRAY(SELECT ctid FROM autoreplies WHERE day < $1::date LIMIT $2))', c.autoreplies],
    ['DELETE FROM subscription_requests WHERE ctid = ANY(ARRAY(SELECT ctid FROM subscription_requests WHERE expires_at < $1 LIMIT $2))', c.requests],
  ] as const) {
    n += (await db.query(sql, [at, limit])).rowCount ?? 0;
  }
  return n;
}

/**
 * Messages nothing references any more (an edited approval once its post is done, bytes stored for a start
 * that was answered 451 and never retried), stored before `bound`, one scan batch from `after` on. Returns
 * what was scanned and deleted, and where the next scan starts.
 */
export async function deleteOrphans(db: Db, after: Cursor | null, bound: Date, limit: number): Promise<{ scanned: number; deleted: number; next: Cursor | null }> {
  const { rows } = await db.query<{ sha256: string; at: string }>(
    `SELECT sha256, stored_at::text AS at FROM messages WHERE stored_at < $1 AND ($2::timestamptz IS NULL OR (stored_at, sha256) > ($2, $3))
     ORDER BY stored_at, sha256 LIMIT $4`,
    [bound, after?.at ?? null, after?.id ?? '', limit],
  );
  const last = rows[rows.length - 1];
  const deleted = await deleteUnreferencedMessages(db, rows.map((r) => r.sha256), bound);
  return { scanned: rows.length, deleted, next: last ? { at: last.at, id: last.sha256 } : after };
}

const UNREFERENCED = `
  m.sha256 = ANY($1::text[]) AND m.stored_at < $2
  AND NOT EXISTS (SELECT 1 FROM inbound i WHERE i.sha256 = m.sha256)
  AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.decorated_sha256 = m.sha256)
  AND NOT EXISTS (SELECT 1 FROM archive a WHERE a.sha256 = m.sha256)
  AND NOT EXISTS (SELECT 1 FROM bounce_events b WHERE b.sha256 = m.sha256)
  AND NOT EXISTS (SELECT 1 FROM digest_issues d WHERE d.mime_sha256 = m.sha256)
  AND NOT EXISTS (SELECT 1 FROM digest_issues d WHERE d.plain_sha256 = m.sha256)`;

/**
 * Deletes those of these messages that no row references and that were stored (or stored again: putMessage
 * refreshes stored_at) before `storedBefore`. A reference added concurrently makes the foreign key refuse the
 * delete; the batch is then retried one message at a time and the referenced one kept.
 */
export async function deleteUnreferencedMessages(db: Queryable, shas: string[], storedBefore: Date): Promise<number> {
  if (shas.length === 0) return 0;
  const del = (list: string[]) => db.query(`DELETE FROM messages m WHERE ${UNREFERENCED}`, [list, storedBefore]).then((r) => r.rowCount ?? 0);
  try {
    return await del(shas);
  } catch (err) {
    if ((err as DatabaseError).code !== '23503') throw err;
    let n = 0;
    for (const sha of shas) {
      n += await del([sha]).catch((e: DatabaseError) => {
        if (e.code === '23503') return 0;
        throw e;
      });
    }
    return n;
  }
}

const ORPHAN_SCAN_KEY = 'prune_orphan_scan';

/**
 * Where the orphan scan stands, kept in the site table so a restarted prune workflow does not rescan: a scan
 * under way goes on from `cursor`; a finished one (cursor null) starts over once `completedAt` is old enough.
 */
export interface OrphanScan {
  cursor: Cursor | null;
  completedAt: Date | null;
}

export async function loadOrphanScan(db: Queryable): Promise<OrphanScan> {
  const { rows } = await db.query<{ value: string }>('SELECT value FROM site WHERE key = $1', [ORPHAN_SCAN_KEY]);
  try {
    const v = JSON.parse(rows[0]?.value ?? 'null') as { at: string | null; id: string; completedAt: string | null } | null;
    if (!v) return { cursor: null, completedAt: null };
    return { cursor: v.at ? { at: v.at, id: v.id } : null, completedAt: v.completedAt ? new Date(v.completedAt) : null };
  } catch {
    return { cursor: null, completedAt: null };
  }
}

export async function saveOrphanScan(db: Queryable, scan: OrphanScan): Promise<void> {
  const value = { at: scan.cursor?.at ?? null, id: scan.cursor?.id ?? '', completedAt: scan.completedAt?.toISOString() ?? null };
  await db.query('INSERT INTO site (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [ORPHAN_SCAN_KEY, JSON.stringify(value)]);
}

/** What the retention concerns take on disk, for the bench and for operators' curiosity. */
export async function retentionFootprint(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ name: string; n: string }>(
    `SELECT 'database_bytes' AS name, pg_database_size(current_database()) AS n
     UNION ALL SELECT 'messages', count(*) FROM messages
     UNION ALL SELECT 'inbound', count(*) FROM inbound
     UNION ALL SELECT 'posts', count(*) FROM posts
     UNION ALL SELECT 'deliveries', count(*) FROM deliveries
     UNION ALL SELECT 'bounce_events', count(*) FROM bounce_events`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
}
