// API bearer tokens: made once and shown once, kept only as their SHA-256, found by that hash, revoked by name.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from './db.js';

/** Every token starts with this, so a leaked one is recognisable (by people and by secret scanners). */
export const API_TOKEN_PREFIX = 'lf_';
/** lf_ and 32 random bytes in base64url: 256 bits, so a plain SHA-256 is a sound way to store it. */
const API_TOKEN_SHAPE = /^lf_[A-Za-z0-9_-]{43}$/;
const NAME_SHAPE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const API_TOKEN_NAME_RULE = '1 to 64 of a-z, 0-9, ".", "_" and "-", starting with a letter or digit';

export class ApiTokenError extends Error {
  override name = 'ApiTokenError';
}

export interface ApiToken {
  name: string;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface ApiTokenRow {
  name: string;
  created_by: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function toApiToken(r: ApiTokenRow): ApiToken {
  return {
    name: r.name,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
  };
}

export function isApiTokenName(name: string): boolean {
  return NAME_SHAPE.test(name);
}

/** Whether `text` looks like a token listflow makes (checked before any database lookup). */
export function isApiTokenShape(text: string): boolean {
  return API_TOKEN_SHAPE.test(text);
}

export function hashApiToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Makes a token named `name` and returns it: the only time it exists outside the client that keeps it.
 * ApiTokenError for a bad name or a name a live token has.
 */
export async function createApiToken(db: Queryable, name: string, createdBy: string): Promise<string> {
  if (!isApiTokenName(name)) throw new ApiTokenError(`"${name}" is not a token name: use ${API_TOKEN_NAME_RULE}`);
  const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const { rowCount } = await db.query(
    `INSERT INTO api_tokens (name, token_sha256, created_by) VALUES ($1, $2, $3)
     ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING`,
    [name, hashApiToken(token), createdBy],
  );
  if (rowCount !== 1) throw new ApiTokenError(`a token named ${name} exists already (revoke it first to reuse the name)`);
  return token;
}

/** Live tokens by name, or with `all` the revoked ones too; never the tokens or their hashes. */
export async function listApiTokens(db: Queryable, all = false): Promise<ApiToken[]> {
  const { rows } = await db.query<ApiTokenRow>(
    `SELECT name, created_by, created_at, last_used_at, revoked_at FROM api_tokens
     ${all ? '' : 'WHERE revoked_at IS NULL'} ORDER BY name, created_at`,
  );
  return rows.map(toApiToken);
}

/** Revokes the live token named `name`; false when there is none. */
export async function revokeApiToken(db: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL', [name]);
  return rowCount === 1;
}

/**
 * The name of the live token `token` is, or null; records its use. The write happens at most once a minute
 * per token (in the same statement as the lookup), so a busy client does not turn every request into an update.
 */
export async function useApiToken(db: Queryable, token: string): Promise<string | null> {
  if (!isApiTokenShape(token)) return null;
  const hash = hashApiToken(token);
  const { rows } = await db.query<{ name: string; token_sha256: Buffer }>(
    `WITH found AS (
       SELECT id, name, token_sha256, last_used_at FROM api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL
     ), touched AS (
       UPDATE api_tokens t SET last_used_at = now() FROM found
        WHERE t.id = found.id AND (found.last_used_at IS NULL OR found.last_used_at < now() - interval '1 minute')
     )
     SELECT name, token_sha256 FROM found`,
    [hash],
  );
  const row = rows[0];
  // The index found the row by hash; compare again in constant time so no code path compares secrets byte by byte.
  if (!row || row.token_sha256.length !== hash.length || !timingSafeEqual(row.token_sha256, hash)) return null;
  return row.name;
}
