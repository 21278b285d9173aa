// Banned addresses and patterns, per list or site-wide (listId null).
import { parseAddressPattern, storedAddressPattern, type AddressPattern } from '../mail/patterns.js';
import type { Queryable } from './db.js';

export interface Ban {
  id: number;
  /** null: site-wide. */
  listId: number | null;
  pattern: string;
  reason: string;
  createdBy: string;
  createdAt: string;
}

interface BanRow {
  id: string;
  list_id: string | null;
  pattern: string;
  reason: string;
  created_by: string;
  created_at: Date;
}

function toBan(r: BanRow): Ban {
  return {
    id: Number(r.id),
    listId: r.list_id === null ? null : Number(r.list_id),
    pattern: r.pattern,
    reason: r.reason,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
  };
}

/** Adds a ban; the pattern is validated first (PatternError: RE2 syntax, see mail/regex.ts). Adding one that exists is not an error: it returns false. */
export async function addBan(
  db: Queryable,
  ban: { listId: number | null; pattern: string; reason?: string; createdBy?: string },
): Promise<boolean> {
  const pattern = parseAddressPattern(ban.pattern).text;
  const { rowCount } = await db.query(
    `INSERT INTO bans (list_id, pattern, reason, created_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (COALESCE(list_id, 0), pattern) DO NOTHING`,
    [ban.listId, pattern, ban.reason ?? '', ban.createdBy ?? ''],
  );
  return (rowCount ?? 0) > 0;
}

/** Removes a ban by its exact pattern; false when there was none. */
export async function removeBan(db: Queryable, listId: number | null, pattern: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM bans WHERE COALESCE(list_id, 0) = COALESCE($1::bigint, 0) AND pattern = $2', [listId, pattern.trim()]);
  return (rowCount ?? 0) > 0;
}

/** The bans of one list (listId) or the site-wide ones (null), oldest first. */
export async function listBans(db: Queryable, listId: number | null): Promise<Ban[]> {
  const { rows } = await db.query<BanRow>('SELECT * FROM bans WHERE COALESCE(list_id, 0) = COALESCE($1::bigint, 0) ORDER BY id', [listId]);
  return rows.map(toBan);
}

/** The patterns that apply to a post to the list: its own bans and the site-wide ones. */
export async function bansFor(db: Queryable, listId: number): Promise<{ list: AddressPattern[]; site: AddressPattern[] }> {
  const { rows } = await db.query<BanRow>('SELECT * FROM bans WHERE list_id = $1 OR list_id IS NULL ORDER BY id', [listId]);
  const list: AddressPattern[] = [];
  const site: AddressPattern[] = [];
  // Validated when added. A row that no longer compiles (RE2 refuses a pattern JavaScript took, or a hand edit)
  // is kept: the banned-address rule fails on it and the post is held with the reason, rather than the ban
  // silently lapsing.
  for (const r of rows) (r.list_id === null ? site : list).push(storedAddressPattern(r.pattern));
  return { list, site };
}
