// Ending one membership by its VERP token, with an audit row, in one transaction (the one-click path uses it).
import { transaction, type Db, type Queryable } from './db.js';

export interface Unsubscription {
  listAddress: string;
  address: string;
  via: string;
  at: Date;
}

export type UnsubscribeOutcome =
  | { outcome: 'unsubscribed'; record: Unsubscription }
  /** The membership is gone; `record` says how, when listflow recorded it (null when removed another way, e.g. the CLI). */
  | { outcome: 'already'; record: Unsubscription | null };

interface Row {
  list_address: string;
  address: string;
  via: string;
  at: Date;
}

const toRecord = (r: Row): Unsubscription => ({ listAddress: r.list_address, address: r.address, via: r.via, at: r.at });

/** The member (role member) of a list whose membership carries this VERP token, if it still exists. */
export async function memberByVerpToken(db: Queryable, listId: number, verpToken: string): Promise<{ address: string } | null> {
  const { rows } = await db.query<{ address: string }>(
    `SELECT address FROM members WHERE list_id = $1 AND verp_token = $2 AND role = 'member'`,
    [listId, verpToken],
  );
  return rows[0] ?? null;
}

/** How the membership with this VERP token ended, if listflow recorded it. */
export async function unsubscriptionOf(db: Queryable, listAddress: string, verpToken: string): Promise<Unsubscription | null> {
  const { rows } = await db.query<Row>(
    `SELECT list_address, address, via, at FROM unsubscriptions
     WHERE list_address = $1 AND verp_token = $2 ORDER BY at LIMIT 1`,
    [listAddress.toLowerCase(), verpToken],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/**
 * Removes exactly the membership the VERP token names (never the same address's later re-subscription, which
 * has a new token) and records it. A repeat, or a race with another request, finds no row and reports 'already'.
 */
export async function unsubscribeByVerpToken(
  db: Db,
  list: { id: number; address: string },
  verpToken: string,
  via: string,
): Promise<UnsubscribeOutcome> {
  return transaction(db, async (client) => {
    // A concurrent DELETE of the same row waits for this one to commit, then finds nothing: one audit row per membership.
    const { rows } = await client.query<{ address: string }>(
      `DELETE FROM members WHERE list_id = $1 AND verp_token = $2 AND role = 'member' RETURNING address`,
      [list.id, verpToken],
    );
    const removed = rows[0];
    if (!removed) return { outcome: 'already', record: await unsubscriptionOf(client, list.address, verpToken) };
    const inserted = await client.query<Row>(
      `INSERT INTO unsubscriptions (list_address, address, verp_token, via) VALUES ($1, $2, $3, $4)
       RETURNING list_address, address, via, at`,
      [list.address.toLowerCase(), removed.address, verpToken, via],
    );
    return { outcome: 'unsubscribed', record: toRecord(inserted.rows[0] as Row) };
  });
}

/** A list's unsubscriptions, newest first. */
export async function listUnsubscriptions(db: Queryable, listAddress: string, limit = 1000): Promise<Unsubscription[]> {
  const { rows } = await db.query<Row>(
    `SELECT list_address, address, via, at FROM unsubscriptions WHERE list_address = $1 ORDER BY at DESC, id DESC LIMIT $2`,
    [listAddress.toLowerCase(), limit],
  );
  return rows.map(toRecord);
}
