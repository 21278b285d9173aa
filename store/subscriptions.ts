// Pending subscription requests by id (what a confirmation token names), and members owed a welcome or goodbye.
import { addressKey } from '../mail/address.js';
import { newVerpToken } from './members.js';
import { transaction, type Db, type Queryable } from './db.js';

export interface PendingRequest {
  id: string;
  listAddress: string;
  address: string;
  action: 'subscribe' | 'unsubscribe';
  workflowId: string;
  expiresAt: Date;
}

interface RequestRow {
  id: string;
  list_address: string;
  address: string;
  action: 'subscribe' | 'unsubscribe';
  workflow_id: string;
  expires_at: Date;
}

/** Records a request under its id; a repeat (an activity retry) changes nothing. */
export async function recordRequest(db: Queryable, r: PendingRequest): Promise<void> {
  await db.query(
    `INSERT INTO subscription_requests (id, list_address, address, action, workflow_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
    [r.id, r.listAddress.toLowerCase(), r.address, r.action, r.workflowId, r.expiresAt],
  );
  // Requests long past their expiry name nothing any more (their tokens are refused before this table is asked).
  await db.query(`DELETE FROM subscription_requests WHERE expires_at < now() - interval '30 days'`);
}

export async function findRequest(db: Queryable, id: string): Promise<PendingRequest | null> {
  const { rows } = await db.query<RequestRow>('SELECT id, list_address, address, action, workflow_id, expires_at FROM subscription_requests WHERE id = $1', [id]);
  const r = rows[0];
  return r ? { id: r.id, listAddress: r.list_address, address: r.address, action: r.action, workflowId: r.workflow_id, expiresAt: r.expires_at } : null;
}

export interface NewMember {
  address: string;
  displayName?: string | null;
  deliveryMode?: string;
}

/** Adds one member (a confirmed subscription); false when the address is a member already. */
export async function addMember(db: Queryable, listId: number, m: NewMember): Promise<{ added: boolean; verpToken: string | null }> {
  const { rows } = await db.query<{ verp_token: string }>(
    `INSERT INTO members (list_id, address, address_key, role, verp_token, display_name, delivery_mode)
     VALUES ($1, $2, $3, 'member', $4, $5, $6)
     ON CONFLICT (list_id, role, address_key) DO NOTHING RETURNING verp_token`,
    [listId, m.address, addressKey(m.address), newVerpToken(), m.displayName || null, m.deliveryMode ?? 'regular'],
  );
  return { added: rows.length > 0, verpToken: rows[0]?.verp_token ?? null };
}

/** Ends one membership (role member) and records it in `unsubscriptions`, in one transaction; null when not a member. */
export async function removeMember(db: Db, list: { id: number; address: string }, address: string, via: string, goodbyePending = false): Promise<{ address: string } | null> {
  return transaction(db, async (client) => {
    const { rows } = await client.query<{ address: string; verp_token: string }>(
      `DELETE FROM members WHERE list_id = $1 AND address_key = $2 AND role = 'member' RETURNING address, verp_token`,
      [list.id, addressKey(address)],
    );
    const removed = rows[0];
    if (!removed) return null;
    await client.query(`INSERT INTO unsubscriptions (list_address, address, verp_token, via, goodbye_pending) VALUES ($1, $2, $3, $4, $5)`, [
      list.address.toLowerCase(),
      removed.address,
      removed.verp_token,
      via,
      goodbyePending,
    ]);
    return { address: removed.address };
  });
}

/**
 * Removes members in bulk (the CLI), recording each in `unsubscriptions`; `goodbyePending` marks them as owed a
 * goodbye. Returns the lower-case keys removed.
 */
export async function removeMembersRecorded(db: Db, list: { id: number; address: string }, keys: string[], via: string, goodbyePending: boolean): Promise<string[]> {
  return transaction(db, async (client) => {
    const { rows } = await client.query<{ address: string; address_key: string; verp_token: string }>(
      `DELETE FROM members WHERE list_id = $1 AND role = 'member' AND address_key = ANY($2::text[]) RETURNING address, address_key, verp_token`,
      [list.id, keys],
    );
    if (rows.length > 0) {
      await client.query(
        `INSERT INTO unsubscriptions (list_address, address, verp_token, via, goodbye_pending)
         SELECT $1, a, t, $4, $5 FROM unnest($2::text[], $3::text[]) AS u(a, t)`,
        [list.address.toLowerCase(), rows.map((r) => r.address), rows.map((r) => r.verp_token), via, goodbyePending],
      );
    }
    return rows.map((r) => r.address_key);
  });
}

/** Marks members as owed a welcome (after a bulk add); one statement. */
export async function markWelcomePending(db: Queryable, listId: number, keys: string[]): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE members SET welcome_pending = true WHERE list_id = $1 AND role = 'member' AND address_key = ANY($2::text[])`,
    [listId, keys],
  );
  return rowCount ?? 0;
}

export interface OwedNotice {
  kind: 'welcome' | 'goodbye';
  /** members.id or unsubscriptions.id */
  id: string;
  address: string;
  verpToken: string;
}

/** Up to `limit` welcomes and goodbyes a list still owes, oldest first. */
export async function owedNotices(db: Queryable, list: { id: number; address: string }, limit: number): Promise<OwedNotice[]> {
  const welcomes = await db.query<{ id: string; address: string; verp_token: string }>(
    `SELECT id, address, verp_token FROM members WHERE list_id = $1 AND welcome_pending ORDER BY id LIMIT $2`,
    [list.id, limit],
  );
  const owed: OwedNotice[] = welcomes.rows.map((r) => ({ kind: 'welcome', id: String(r.id), address: r.address, verpToken: r.verp_token }));
  if (owed.length >= limit) return owed;
  const goodbyes = await db.query<{ id: string; address: string; verp_token: string }>(
    `SELECT id, address, verp_token FROM unsubscriptions WHERE list_address = $1 AND goodbye_pending ORDER BY id LIMIT $2`,
    [list.address.toLowerCase(), limit - owed.length],
  );
  return owed.concat(goodbyes.rows.map((r) => ({ kind: 'goodbye', id: String(r.id), address: r.address, verpToken: r.verp_token })));
}

/** Marks notices as sent (or given up): they are owed no more. */
export async function clearOwed(db: Queryable, notices: OwedNotice[]): Promise<void> {
  const welcome = notices.filter((n) => n.kind === 'welcome').map((n) => n.id);
  const goodbye = notices.filter((n) => n.kind === 'goodbye').map((n) => n.id);
  if (welcome.length) await db.query('UPDATE members SET welcome_pending = false WHERE id = ANY($1::bigint[])', [welcome]);
  if (goodbye.length) await db.query('UPDATE unsubscriptions SET goodbye_pending = false WHERE id = ANY($1::bigint[])', [goodbye]);
}

/** How many welcomes and goodbyes a list still owes. */
export async function countOwed(db: Queryable, list: { id: number; address: string }): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT (SELECT count(*) FROM members WHERE list_id = $1 AND welcome_pending)
          + (SELECT count(*) FROM unsubscriptions WHERE list_address = $2 AND goodbye_pending) AS n`,
    [list.id, list.address.toLowerCase()],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Lists that still owe welcomes or goodbyes (e.g. added while Temporal was down). */
export async function listsOwingNotices(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ address: string }>(
    `SELECT l.address FROM lists l WHERE EXISTS (SELECT 1 FROM members m WHERE m.list_id = l.id AND m.welcome_pending)
        OR EXISTS (SELECT 1 FROM unsubscriptions u WHERE u.list_address = l.address AND u.goodbye_pending)
     ORDER BY l.address`,
  );
  return rows.map((r) => r.address);
}

/** The goodbye for a membership that ended (by its VERP token) is owed: member-notices sends it. */
export async function markGoodbyeOwed(db: Queryable, listAddress: string, verpToken: string): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE unsubscriptions SET goodbye_pending = true WHERE list_address = $1 AND verp_token = $2`, [listAddress.toLowerCase(), verpToken]);
  return (rowCount ?? 0) > 0;
}
