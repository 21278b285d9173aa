// The delivery ledger: which recipient of which post has been sent, failed, or is still pending.
import type { Queryable } from './db.js';

export interface DeliveryCounts {
  total: number;
  sent: number;
  failed: number;
  pending: number;
}

/**
 * Snapshots a list's deliverable members into the ledger for a post, numbering batches of
 * `batchSize`. Idempotent: a second call for the same post changes nothing and returns the same shape.
 */
export async function snapshotRecipients(
  db: Queryable,
  workflowId: string,
  listId: number,
  batchSize: number,
): Promise<{ total: number; batches: number }> {
  await db.query(
    `INSERT INTO deliveries (workflow_id, recipient, batch, verp_token)
     SELECT $1, address, ((row_number() OVER (ORDER BY address_key)) - 1) / $3, verp_token
     FROM members
     WHERE list_id = $2 AND role = 'member' AND delivery_status = 'enabled' AND delivery_mode = 'regular'
     ON CONFLICT DO NOTHING`,
    [workflowId, listId, batchSize],
  );
  const { rows } = await db.query<{ total: string; batches: string }>(
    'SELECT count(*) AS total, COALESCE(max(batch) + 1, 0) AS batches FROM deliveries WHERE workflow_id = $1',
    [workflowId],
  );
  return { total: Number(rows[0]?.total ?? 0), batches: Number(rows[0]?.batches ?? 0) };
}

export interface PendingRecipient {
  recipient: string;
  verpToken: string;
}

export async function pendingInBatch(db: Queryable, workflowId: string, batch: number): Promise<PendingRecipient[]> {
  const { rows } = await db.query<{ recipient: string; verp_token: string }>(
    `SELECT recipient, verp_token FROM deliveries WHERE workflow_id = $1 AND batch = $2 AND status = 'pending'
     ORDER BY recipient`,
    [workflowId, batch],
  );
  return rows.map((r) => ({ recipient: r.recipient, verpToken: r.verp_token }));
}

export async function batchesWithPending(db: Queryable, workflowId: string): Promise<number[]> {
  const { rows } = await db.query<{ batch: number }>(
    `SELECT DISTINCT batch FROM deliveries WHERE workflow_id = $1 AND status = 'pending' ORDER BY batch`,
    [workflowId],
  );
  return rows.map((r) => r.batch);
}

/**
 * Records one SMTP outcome for recipients of one batch; only rows still pending change. The batch bounds the
 * rows the statement may visit whatever plan the planner picks (with only the post to go on, it may scan
 * every row of the post).
 */
export async function markInBatch(
  db: Queryable,
  workflowId: string,
  batch: number,
  recipients: string[],
  status: 'sent' | 'failed' | 'pending',
  code: number | null,
  response: string | null,
): Promise<void> {
  if (recipients.length === 0) return;
  await db.query(
    `UPDATE deliveries SET status = $4, attempts = attempts + 1, last_code = $5, last_response = $6, updated_at = now()
     WHERE workflow_id = $1 AND batch = $2 AND recipient = ANY($3::text[]) AND status = 'pending'`,
    [workflowId, batch, recipients, status, code, response === null ? null : response.slice(0, 500)],
  );
}

/** The recipients of one batch that were refused for good (5xx), with the server's answer. */
export async function failedInBatch(db: Queryable, workflowId: string, batch: number): Promise<{ recipient: string; code: number | null; response: string }[]> {
  const { rows } = await db.query<{ recipient: string; last_code: number | null; last_response: string | null }>(
    `SELECT recipient, last_code, last_response FROM deliveries WHERE workflow_id = $1 AND batch = $2 AND status = 'failed'
       AND COALESCE(last_response, '') NOT LIKE 'retry period expired:%'`,
    [workflowId, batch],
  );
  return rows.map((r) => ({ recipient: r.recipient, code: r.last_code, response: r.last_response ?? '' }));
}

/** Notes a temporary failure: the recipients stay pending, with the attempt and the server's answer. */
export async function noteDeferred(db: Queryable, workflowId: string, batch: number, recipients: string[], code: number | null, response: string): Promise<void> {
  if (recipients.length === 0) return;
  await db.query(
    `UPDATE deliveries SET attempts = attempts + 1, last_code = $4, last_response = $5, updated_at = now()
     WHERE workflow_id = $1 AND batch = $2 AND recipient = ANY($3::text[]) AND status = 'pending'`,
    [workflowId, batch, recipients, code, response.slice(0, 500)],
  );
}

/** Gives up on every recipient still pending (retry period over). Returns how many. */
export async function expirePending(db: Queryable, workflowId: string): Promise<string[]> {
  const { rows } = await db.query<{ recipient: string }>(
    `UPDATE deliveries SET status = 'failed', last_response = 'retry period expired: ' || COALESCE(last_response, ''),
       updated_at = now()
     WHERE workflow_id = $1 AND status = 'pending' RETURNING recipient`,
    [workflowId],
  );
  return rows.map((r) => r.recipient);
}

export async function countDeliveries(db: Queryable, workflowId: string, batch?: number): Promise<DeliveryCounts> {
  // Two statements rather than `($2 IS NULL OR batch = $2)`, which cannot use the batch index and
  // would count the whole post for every batch.
  const { rows } =
    batch === undefined
      ? await db.query<{ status: string; n: string }>(
          'SELECT status, count(*) AS n FROM deliveries WHERE workflow_id = $1 GROUP BY status',
          [workflowId],
        )
      : await db.query<{ status: string; n: string }>(
          'SELECT status, count(*) AS n FROM deliveries WHERE workflow_id = $1 AND batch = $2 GROUP BY status',
          [workflowId, batch],
        );
  const counts: DeliveryCounts = { total: 0, sent: 0, failed: 0, pending: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    counts.total += n;
    if (r.status === 'sent' || r.status === 'failed' || r.status === 'pending') counts[r.status] += n;
  }
  return counts;
}

export interface BounceEventInput {
  listId: number | null;
  recipient: string | null;
  source: 'delivery' | 'inbound';
  workflowId: string;
  sha256?: string;
  code?: number | null;
  reason?: string | null;
  /** What bounce processing took it for (store/bounces.ts BounceClassification). */
  classification?: string | null;
  /** How the member was found: verp, dsn, heuristic, smtp, none. */
  method?: string | null;
  /** RFC 3463 x.y.z. */
  status?: string | null;
  /** Handed to the member's bouncer (counts towards the score unless the day already counted). */
  scored?: boolean;
}

export async function recordBounceEvent(db: Queryable, e: BounceEventInput): Promise<void> {
  await db.query(
    `INSERT INTO bounce_events (list_id, recipient, source, workflow_id, sha256, code, reason, classification, method, status, scored)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      e.listId,
      e.recipient,
      e.source,
      e.workflowId,
      e.sha256 ?? null,
      e.code ?? null,
      e.reason?.slice(0, 1000) ?? null,
      e.classification ?? null,
      e.method ?? null,
      e.status?.slice(0, 20) ?? null,
      e.scored ?? false,
    ],
  );
}
