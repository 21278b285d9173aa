// The roster as the `who` command shows it: member addresses, a bounded page of them, and how many there are.
import type { Queryable } from './db.js';

export async function rosterPage(db: Queryable, listId: number, limit: number): Promise<{ addresses: string[]; total: number }> {
  const { rows } = await db.query<{ address: string }>(
    `SELECT address FROM members WHERE list_id = $1 AND role = 'member' ORDER BY address_key LIMIT $2`,
    [listId, limit],
  );
  const { rows: count } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM members WHERE list_id = $1 AND role = 'member'`, [listId]);
  return { addresses: rows.map((r) => r.address), total: Number(count[0]?.n ?? 0) };
}
