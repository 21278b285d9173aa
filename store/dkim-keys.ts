// DKIM keys per domain: stored by `listflow domains dkim`, read by the signer.
import type { DkimAlgorithm, DkimKey } from '../mail/dkim-keys.js';
import type { Queryable } from './db.js';

export interface StoredDkimKey extends DkimKey {
  createdAt: string;
}

interface Row {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  private_key: string;
  public_key: string;
  created_at: Date;
}

const toKey = (r: Row): StoredDkimKey => ({
  domain: r.domain,
  selector: r.selector,
  algorithm: r.algorithm,
  privateKey: r.private_key,
  publicKey: r.public_key,
  createdAt: r.created_at.toISOString(),
});

export async function getDkimKey(db: Queryable, domain: string): Promise<StoredDkimKey | null> {
  const { rows } = await db.query<Row>('SELECT * FROM dkim_keys WHERE domain = $1', [domain.toLowerCase()]);
  return rows[0] ? toKey(rows[0]) : null;
}

export async function allDkimKeys(db: Queryable): Promise<StoredDkimKey[]> {
  const { rows } = await db.query<Row>('SELECT * FROM dkim_keys ORDER BY domain');
  return rows.map(toKey);
}

/** Stores the key; with `replace` false an existing key for the domain is kept and false is returned. */
export async function putDkimKey(db: Queryable, key: DkimKey, replace: boolean): Promise<boolean> {
  const values = [key.domain, key.selector, key.algorithm, key.privateKey, key.publicKey];
  const sql = replace
    ? `INSERT INTO dkim_keys (domain, selector, algorithm, private_key, public_key) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (domain) DO UPDATE SET selector = $2, algorithm = $3, private_key = $4, public_key = $5, created_at = now()`
    : `INSERT INTO dkim_keys (domain, selector, algorithm, private_key, public_key) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (domain) DO NOTHING`;
  const { rowCount } = await db.query(sql, values);
  return (rowCount ?? 0) > 0;
}
