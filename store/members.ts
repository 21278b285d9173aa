// Queries on members, owners and moderators of lists.
import { randomBytes } from 'node:crypto';
import { addressKey } from '../mail/address.js';
import type { Queryable } from './db.js';

export type Role = 'member' | 'owner' | 'moderator';
export type MemberModeration = 'default' | 'accept' | 'hold' | 'reject' | 'discard';
export const MEMBER_MODERATIONS: MemberModeration[] = ['default', 'accept', 'hold', 'reject', 'discard'];

export interface Member {
  address: string;
  role: Role;
  displayName: string | null;
  moderation: MemberModeration;
  deliveryStatus: string;
  deliveryMode: string;
  verpToken: string;
}

interface MemberRow {
  address: string;
  role: Role;
  display_name: string | null;
  moderation: MemberModeration;
  delivery_status: string;
  delivery_mode: string;
  verp_token: string;
}

function toMember(r: MemberRow): Member {
  return {
    address: r.address,
    role: r.role,
    displayName: r.display_name,
    moderation: r.moderation,
    deliveryStatus: r.delivery_status,
    deliveryMode: r.delivery_mode,
    verpToken: r.verp_token,
  };
}

/** An opaque token naming a member in VERP return paths: short, lower-case, safe in a local part. */
export function newVerpToken(): string {
  return randomBytes(10).toString('hex');
}

/**
 * Adds addresses (already validated) to a list's roster in one statement per chunk.
 * Returns how many were new; addresses already there are left as they are.
 */
export async function addMembers(db: Queryable, listId: number, addresses: string[], role: Role = 'member', options: { welcomePending?: boolean } = {}): Promise<number> {
  let added = 0;
  const CHUNK = 5000;
  for (let i = 0; i < addresses.length; i += CHUNK) {
    const chunk = addresses.slice(i, i + CHUNK);
    // welcomePending marks only the rows this inserts as owed a welcome (the list's member-notices workflow sends them).
    const { rowCount } = await db.query(
      `INSERT INTO members (list_id, address, address_key, role, verp_token, welcome_pending)
       SELECT $1, a, lower(a), $4, t, $5 FROM unnest($2::text[], $3::text[]) AS u(a, t)
       ON CONFLICT (list_id, role, address_key) DO NOTHING`,
      [listId, chunk, chunk.map(() => newVerpToken()), role, options.welcomePending ?? false],
    );
    added += rowCount ?? 0;
  }
  return added;
}

export async function removeMembers(db: Queryable, listId: number, addresses: string[], role: Role = 'member'): Promise<number> {
  const { rowCount } = await db.query(
    'DELETE FROM members WHERE list_id = $1 AND role = $3 AND address_key = ANY($2::text[])',
    [listId, addresses.map(addressKey), role],
  );
  return rowCount ?? 0;
}

export async function listMembers(db: Queryable, listId: number, role?: Role): Promise<Member[]> {
  const { rows } = await db.query<MemberRow>(
    `SELECT address, role, display_name, moderation, delivery_status, delivery_mode, verp_token
     FROM members WHERE list_id = $1 AND ($2::text IS NULL OR role = $2) ORDER BY role, address_key`,
    [listId, role ?? null],
  );
  return rows.map(toMember);
}

/** Every role an address holds on a list (a moderator may also be a member). */
export async function findMember(db: Queryable, listId: number, address: string): Promise<Member[]> {
  const { rows } = await db.query<MemberRow>(
    `SELECT address, role, display_name, moderation, delivery_status, delivery_mode, verp_token
     FROM members WHERE list_id = $1 AND address_key = $2`,
    [listId, addressKey(address)],
  );
  return rows.map(toMember);
}

export async function setModeration(db: Queryable, listId: number, address: string, moderation: MemberModeration): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE members SET moderation = $3 WHERE list_id = $1 AND address_key = $2 AND role = 'member'`,
    [listId, addressKey(address), moderation],
  );
  return (rowCount ?? 0) > 0;
}

export type DeliveryMode = 'regular' | 'mime_digest' | 'plain_digest';
export const DELIVERY_MODES: DeliveryMode[] = ['regular', 'mime_digest', 'plain_digest'];

/** Regular copies, or a MIME or plain-text digest (digest members get no regular copies). */
export async function setDeliveryMode(db: Queryable, listId: number, address: string, mode: DeliveryMode): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE members SET delivery_mode = $3 WHERE list_id = $1 AND address_key = $2 AND role = 'member'`,
    [listId, addressKey(address), mode],
  );
  return (rowCount ?? 0) > 0;
}

/** Owners, then moderators: who hears about held posts and -owner mail. */
export async function listStaff(db: Queryable, listId: number): Promise<{ owners: string[]; moderators: string[] }> {
  const { rows } = await db.query<{ address: string; role: Role }>(
    `SELECT address, role FROM members WHERE list_id = $1 AND role IN ('owner', 'moderator') ORDER BY address_key`,
    [listId],
  );
  return {
    owners: rows.filter((r) => r.role === 'owner').map((r) => r.address),
    moderators: rows.filter((r) => r.role === 'moderator').map((r) => r.address),
  };
}

/** How many addresses a list has in each role. */
export async function countByRole(db: Queryable, listId: number): Promise<Record<Role, number>> {
  const { rows } = await db.query<{ role: Role; n: string }>(
    'SELECT role, count(*) AS n FROM members WHERE list_id = $1 GROUP BY role',
    [listId],
  );
  const counts: Record<Role, number> = { member: 0, owner: 0, moderator: 0 };
  for (const r of rows) counts[r.role] = Number(r.n);
  return counts;
}

/** Like removeMembers, but says which addresses (as lower-case keys) were removed. */
export async function deleteMembers(db: Queryable, listId: number, addresses: string[], role: Role = 'member'): Promise<string[]> {
  const { rows } = await db.query<{ address_key: string }>(
    'DELETE FROM members WHERE list_id = $1 AND role = $3 AND address_key = ANY($2::text[]) RETURNING address_key',
    [listId, addresses.map(addressKey), role],
  );
  return rows.map((r) => r.address_key);
}

/** Of the given list addresses, those where `address` is a member (for @list items in nonmember settings). */
export async function memberOfLists(db: Queryable, address: string, lists: string[]): Promise<string[]> {
  if (lists.length === 0) return [];
  const { rows } = await db.query<{ address: string }>(
    `SELECT l.address FROM members m JOIN lists l ON l.id = m.list_id
     WHERE m.address_key = $1 AND m.role = 'member' AND l.address = ANY($2::text[])`,
    [addressKey(address), lists],
  );
  return rows.map((r) => r.address);
}
