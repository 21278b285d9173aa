// Tokens that act when confirmed: a reply to <list>-confirm+TOKEN, the `confirm TOKEN` mail command, or a POST to a
// confirm link all come here. Verified once, then handed to the handler of the token's kind.
import type { Client } from '@temporalio/client';
import { verifyToken, type TokenClaims, type TokenKind } from '../mail/tokens.js';
import { siteSecret } from '../store/db.js';
import { getList, type List } from '../store/lists.js';
import { reenableByToken } from './bounces.js';
import type { ActivityDeps } from './deps.js';

/** mail: a reply to a -confirm address; command: `confirm TOKEN` in -request mail; web: a POST to the confirm link. */
export type TokenVia = 'mail' | 'command' | 'web';

export interface TokenUse {
  list: List;
  claims: TokenClaims;
  /** The token as given (its key marks it used). */
  token: string;
  /** Who confirmed: the mail's sender, or `web`. */
  by: string;
  via: TokenVia;
  /** The workflow (or `web:<request>`) that claims the token. */
  claimedBy: string;
}

export interface TokenResult {
  state: 'applied' | 'refused';
  /** One line for the person who confirmed, e.g. "You are now subscribed to dev@example.org". */
  headline: string;
  details: string[];
}

export type TokenHandler = (deps: ActivityDeps, client: Client, use: TokenUse) => Promise<TokenResult>;

/**
 * One handler per kind that can be confirmed this way. Moderation tokens are not here: they act only as a
 * reply from a moderator (activities/confirm.ts); approval and unsubscribe tokens have their own paths.
 */
export const TOKEN_HANDLERS: Partial<Record<TokenKind, TokenHandler>> = {
  reenable: reenableByToken,
};

const refused = (headline: string, ...details: string[]): TokenResult => ({ state: 'refused', headline, details });

export async function applyToken(
  deps: ActivityDeps,
  client: Client,
  input: { list: string; token: string; by: string; via: TokenVia; claimedBy: string },
): Promise<TokenResult> {
  const list = await getList(deps.db, input.list);
  if (!list) return refused(`Nothing was done: the list ${input.list} no longer exists.`);
  const check = verifyToken(await siteSecret(deps.db), input.token, list.address, Math.floor(Date.now() / 1000));
  if (!check.ok) return refused(`Nothing was done: ${check.message}.`, check.why === 'expired' ? 'The request it confirmed has expired; ask again.' : 'Use the address or link from the message you were sent, unchanged.');
  const handler = TOKEN_HANDLERS[check.claims.kind];
  if (!handler) {
    return refused(
      `Nothing was done: this token is for ${check.claims.kind}, which is not confirmed this way.`,
      check.claims.kind === 'moderation' ? 'A moderation address works as a reply from a moderator to the notice.' : '',
    );
  }
  return handler(deps, client, { list, claims: check.claims, token: input.token, by: input.by, via: input.via, claimedBy: input.claimedBy });
}
