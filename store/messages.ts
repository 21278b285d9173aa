// The content-addressed message store and the record of accepted inbound mail.
import { createHash } from 'node:crypto';
import type { Queryable } from './db.js';

export function sha256Hex(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex');
}

/**
 * Stores raw bytes once under their SHA-256; storing the same bytes again is harmless, and makes them new again
 * for retention (stored_at): the prune workflow never takes a message stored within the last hour, so bytes
 * about to be referenced (ingress, an edited approval) cannot go between this and that reference.
 */
export async function putMessage(db: Queryable, raw: Buffer): Promise<string> {
  const sha = sha256Hex(raw);
  await db.query('INSERT INTO messages (sha256, raw, size) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO UPDATE SET stored_at = now()', [
    sha,
    raw,
    raw.length,
  ]);
  return sha;
}

/** The store has no message under that hash: a retry cannot bring it back (activities make it MessageMissing). */
export class MessageMissingError extends Error {
  override name = 'MessageMissingError';
}

export async function getMessage(db: Queryable, sha: string): Promise<Buffer> {
  const { rows } = await db.query<{ raw: Buffer }>('SELECT raw FROM messages WHERE sha256 = $1', [sha]);
  if (!rows[0]) throw new MessageMissingError(`message ${sha.slice(0, 16)} is not in the store`);
  return rows[0].raw;
}

/** The stored bytes, or null when no message has that hash. */
export async function findMessage(db: Queryable, sha: string): Promise<Buffer | null> {
  const { rows } = await db.query<{ raw: Buffer }>('SELECT raw FROM messages WHERE sha256 = $1', [sha]);
  return rows[0]?.raw ?? null;
}

export interface InboundRecord {
  workflowId: string;
  listAddress: string;
  kind: string;
  sha256: string;
  envelopeFrom: string;
  rcptTo: string;
}

/**
 * Records accepted mail before its workflow starts. Returns the workflow IDs whose start was
 * already acknowledged earlier (a client resending the same bytes), which need no second start.
 */
export async function recordInbound(db: Queryable, records: InboundRecord[]): Promise<Set<string>> {
  const { rows } = await db.query<{ workflow_id: string; started: boolean }>(
    `WITH incoming AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         AS u(workflow_id, list_address, kind, sha256, envelope_from, rcpt_to)),
     ins AS (
       INSERT INTO inbound (workflow_id, list_address, kind, sha256, envelope_from, rcpt_to)
       SELECT * FROM incoming ON CONFLICT (workflow_id) DO NOTHING RETURNING workflow_id)
     SELECT i.workflow_id, (i.started_at IS NOT NULL) AS started FROM inbound i
     WHERE i.workflow_id = ANY($1::text[])`,
    [
      records.map((r) => r.workflowId),
      records.map((r) => r.listAddress),
      records.map((r) => r.kind),
      records.map((r) => r.sha256),
      records.map((r) => r.envelopeFrom),
      records.map((r) => r.rcptTo),
    ],
  );
  return new Set(rows.filter((r) => r.started).map((r) => r.workflow_id));
}

export async function markStarted(db: Queryable, workflowIds: string[]): Promise<void> {
  await db.query('UPDATE inbound SET started_at = now() WHERE workflow_id = ANY($1::text[]) AND started_at IS NULL', [
    workflowIds,
  ]);
}

/** Inbound mail whose workflow ID ends in `/<key>` (a message's short key); usually one, more if sent to several lists. */
export async function findInboundByKey(db: Queryable, key: string): Promise<{ workflowId: string; kind: string; listAddress: string; receivedAt: string }[]> {
  const { rows } = await db.query<{ workflow_id: string; kind: string; list_address: string; received_at: Date }>(
    `SELECT workflow_id, kind, list_address, received_at FROM inbound
     WHERE workflow_id LIKE '%/' || $1 ORDER BY received_at, workflow_id`,
    [key],
  );
  return rows.map((r) => ({ workflowId: r.workflow_id, kind: r.kind, listAddress: r.list_address, receivedAt: r.received_at.toISOString() }));
}
