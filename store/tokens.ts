// Used tokens: a -confirm+TOKEN acts once; the workflow that used it may repeat its step (activity retries).
import type { Queryable } from './db.js';

export interface TokenUse {
  tokenKey: string;
  kind: string;
  subject: string;
  action: string;
  usedBy: string;
  claimedBy: string;
  expiresAt: Date;
}

/**
 * Records the token as used by `claimedBy`. Returns null when this claim holds (first use, or a repeat by the
 * same workflow), or the earlier use when someone else used it first.
 */
export async function claimToken(db: Queryable, use: TokenUse): Promise<{ usedBy: string; usedAt: string } | null> {
  await db.query(
    `INSERT INTO used_tokens (token_key, kind, subject, action, used_by, claimed_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (token_key) DO NOTHING`,
    [use.tokenKey, use.kind, use.subject, use.action, use.usedBy, use.claimedBy, use.expiresAt],
  );
  const { rows } = await db.query<{ used_by: string; claimed_by: string; used_at: Date }>(
    'SELECT used_by, claimed_by, used_at FROM used_tokens WHERE token_key = $1',
    [use.tokenKey],
  );
  const row = rows[0];
  if (!row || row.claimed_by === use.claimedBy) return null;
  return { usedBy: row.used_by, usedAt: row.used_at.toISOString() };
}

/** Forgets used tokens past their expiry: an expired token is refused before this table is asked. */
export async function pruneUsedTokens(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM used_tokens WHERE expires_at < now()');
  return rowCount ?? 0;
}
