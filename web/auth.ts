// Who is calling the API: the name of the bearer token in `Authorization`, or null. Framework-free, so a
// request hook (Fastify's onRequest, say) can call it as the hand-written router does.
import { useApiToken } from '../store/api-tokens.js';
import type { Queryable } from '../store/db.js';

/** What a 401 carries (RFC 6750 §3); `invalid` when a token was sent but is not (or no longer) valid. */
export function bearerChallenge(invalid: boolean): string {
  return invalid ? 'Bearer realm="listflow", error="invalid_token"' : 'Bearer realm="listflow"';
}

/** The token in `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235), or null. */
export function bearerToken(authorization: string | string[] | undefined): string | null {
  if (typeof authorization !== 'string') return null;
  const m = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
  return m?.[1] ?? null;
}

/**
 * The name of the token the request's `Authorization: Bearer …` carries, or null when there is none or it is
 * unknown or revoked. Every call asks the database, so a revoked token stops working at once.
 */
export async function authenticate(db: Queryable, authorization: string | string[] | undefined): Promise<string | null> {
  const token = bearerToken(authorization);
  return token ? useApiToken(db, token) : null;
}

/** How a token is recorded with what it did (moderation's `by`, a note's author): never a name from the body. */
export function tokenActor(tokenName: string): string {
  return `token:${tokenName}`;
}
