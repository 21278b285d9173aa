// Queries on lists and their settings.
import { addressKey } from '../mail/address.js';
import { type ListSettings, resolveSettings } from '../mail/settings.js';
import type { Queryable } from './db.js';

export interface List {
  id: number;
  address: string;
  localPart: string;
  domain: string;
  displayName: string;
  settings: ListSettings;
  /** Only the settings that differ from the defaults, as stored. */
  overrides: Partial<ListSettings>;
  createdAt: string;
}

interface ListRow {
  id: string;
  address: string;
  local_part: string;
  domain: string;
  display_name: string;
  settings: Record<string, unknown>;
  created_at: Date;
}

function toList(row: ListRow): List {
  return {
    id: Number(row.id),
    address: row.address,
    localPart: row.local_part,
    domain: row.domain,
    displayName: row.display_name,
    settings: resolveSettings(row.settings),
    overrides: row.settings as Partial<ListSettings>,
    createdAt: row.created_at.toISOString(),
  };
}

export class ListExistsError extends Error {
  override name = 'ListExistsError';
}

export async function createList(db: Queryable, address: string, displayName?: string): Promise<List> {
  const key = addressKey(address);
  const at = key.lastIndexOf('@');
  const localPart = key.slice(0, at);
  const { rows } = await db.query<ListRow>(
    `INSERT INTO lists (address, local_part, domain, display_name) VALUES ($1, $2, $3, $4)
     ON CONFLICT (address) DO NOTHING RETURNING *`,
    [key, localPart, key.slice(at + 1), displayName || localPart],
  );
  if (!rows[0]) throw new ListExistsError(`the list ${key} already exists`);
  return toList(rows[0]);
}

export async function getList(db: Queryable, address: string): Promise<List | null> {
  const { rows } = await db.query<ListRow>('SELECT * FROM lists WHERE address = $1', [addressKey(address)]);
  return rows[0] ? toList(rows[0]) : null;
}

export async function getListById(db: Queryable, id: number): Promise<List | null> {
  const { rows } = await db.query<ListRow>('SELECT * FROM lists WHERE id = $1', [id]);
  return rows[0] ? toList(rows[0]) : null;
}

export async function allLists(db: Queryable): Promise<(List & { members: number })[]> {
  const { rows } = await db.query<ListRow & { members: string }>(
    `SELECT l.*, (SELECT count(*) FROM members m WHERE m.list_id = l.id AND m.role = 'member') AS members
     FROM lists l ORDER BY l.address`,
  );
  return rows.map((r) => ({ ...toList(r), members: Number(r.members) }));
}

export async function listAddresses(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ address: string }>('SELECT address FROM lists');
  return rows.map((r) => r.address);
}

/** Which of these (lower-case) addresses are lists: one indexed lookup, for a cache miss. */
export async function existingLists(db: Queryable, addresses: string[]): Promise<string[]> {
  if (addresses.length === 0) return [];
  const { rows } = await db.query<{ address: string }>('SELECT address FROM lists WHERE address = ANY($1::text[])', [addresses]);
  return rows.map((r) => r.address);
}

/** Stores validated settings over the existing ones; values equal to nothing are merged as given. */
export async function updateSettings(db: Queryable, address: string, changes: Partial<ListSettings>, displayName?: string): Promise<List | null> {
  const { rows } = await db.query<ListRow>(
    `UPDATE lists SET settings = settings || $2::jsonb, display_name = COALESCE($3, display_name)
     WHERE address = $1 RETURNING *`,
    [addressKey(address), JSON.stringify(changes), displayName ?? null],
  );
  return rows[0] ? toList(rows[0]) : null;
}

export async function deleteList(db: Queryable, address: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM lists WHERE address = $1', [addressKey(address)]);
  return (rowCount ?? 0) > 0;
}

/** The list was deleted under a step that needed it (activities make it ListGone). */
export class ListGoneError extends Error {
  override name = 'ListGoneError';
}

/** Takes the next post number of a list. */
export async function nextSequence(db: Queryable, listId: number): Promise<number> {
  const { rows } = await db.query<{ seq: string }>(
    'UPDATE lists SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq - 1 AS seq',
    [listId],
  );
  if (!rows[0]) throw new ListGoneError(`list ${listId} no longer exists`);
  return Number(rows[0].seq);
}

/** The number the list's next post will get, read without a lock (null: the list is gone). */
export async function peekSequence(db: Queryable, listId: number): Promise<number | null> {
  const { rows } = await db.query<{ next_seq: string }>('SELECT next_seq FROM lists WHERE id = $1', [listId]);
  return rows[0] ? Number(rows[0].next_seq) : null;
}

/**
 * Takes the list's next post number if it is still `expected` (locking the list's row until the transaction
 * ends); null when another post took it first. A post decorated for `expected` then keeps its number.
 */
export async function takeSequenceIf(db: Queryable, listId: number, expected: number): Promise<number | null> {
  const { rows } = await db.query<{ seq: string }>(
    'UPDATE lists SET next_seq = next_seq + 1 WHERE id = $1 AND next_seq = $2 RETURNING next_seq - 1 AS seq',
    [listId, expected],
  );
  return rows[0] ? Number(rows[0].seq) : null;
}
