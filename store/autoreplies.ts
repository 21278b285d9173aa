// The site's daily limit of automatic replies per address, and the count that enforces it.
import { addressKey } from '../mail/address.js';
import { transaction, type Db, type Queryable } from './db.js';

export const DEFAULT_AUTOREPLY_DAILY_LIMIT = 10;

/** The site key `autoreply_daily_limit` (text); the default when unset or not a whole number. */
export async function autoreplyDailyLimit(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ value: string }>(`SELECT value FROM site WHERE key = 'autoreply_daily_limit'`);
  const text = rows[0]?.value.trim();
  // A stored value that does not read as a limit must not turn replies off or on without bound.
  return text && /^\d{1,9}$/.test(text) ? Number(text) : DEFAULT_AUTOREPLY_DAILY_LIMIT;
}

export type AutoreplyGrant = { allowed: true; count: number; limit: number } | { allowed: false; count: number; limit: number; reason: string };

/**
 * Takes one of today's (UTC) automatic replies to `address` for the reply named `ref`. The same ref again
 * (a retried activity) is granted without counting twice. Serialised per address, so concurrent notices to
 * one address cannot overshoot the limit.
 */
export async function takeAutoreply(db: Db, address: string, ref: string): Promise<AutoreplyGrant> {
  const key = addressKey(address);
  return transaction(db, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(7451004, hashtext($1))', [key]);
    // Earlier days no longer count: each address's old rows go when it is next answered.
    await client.query(`DELETE FROM autoreplies WHERE address_key = $1 AND day < (now() AT TIME ZONE 'utc')::date`, [key]);
    const limit = await autoreplyDailyLimit(client);
    const { rows: mine } = await client.query('SELECT 1 FROM autoreplies WHERE ref = $1', [ref]);
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM autoreplies WHERE address_key = $1 AND day = (now() AT TIME ZONE 'utc')::date`,
      [key],
    );
    const count = Number(rows[0]?.n ?? 0);
    if (mine.length > 0) return { allowed: true, count, limit };
    if (count >= limit) {
      return { allowed: false, count, limit, reason: `${key} already had ${count} automatic replies today (the site's daily limit is ${limit})` };
    }
    await client.query(`INSERT INTO autoreplies (ref, address_key, day) VALUES ($1, $2, (now() AT TIME ZONE 'utc')::date)`, [ref, key]);
    return { allowed: true, count: count + 1, limit };
  });
}
