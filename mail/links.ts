// Links listflow puts into mail: one-click unsubscription (RFC 8058) and a post's permanent archive address.
import { createHash } from 'node:crypto';
import { listSubAddress } from './address.js';
import { base32Encode, issueToken } from './tokens.js';

/** How long a one-click link works: longer than any mail client keeps a message unread in practice. */
export const UNSUBSCRIBE_TOKEN_DAYS = 366;

/**
 * The HTTPS one-click address of one member: `<public url>/u/<token>`, where the token names the list and
 * the member (its VERP token), is signed with the site secret and needs no login.
 */
export function oneClickUrl(siteSecret: string, publicUrl: string, list: string, memberVerpToken: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const token = issueToken(siteSecret, {
    kind: 'unsubscribe',
    action: 'unsubscribe',
    list: list.toLowerCase(),
    ref: Buffer.from(memberVerpToken, 'utf8'),
    expiresAt: nowSeconds + UNSUBSCRIBE_TOKEN_DAYS * 86_400,
  });
  // The list travels in the path (tokens are signed for a list but do not carry it).
  return `${publicUrl.replace(/\/+$/, '')}/u/${encodeURIComponent(list.toLowerCase())}/${token}`;
}

/** The mailto: alternative of List-Unsubscribe. */
export function mailtoUnsubscribe(list: string): string {
  return `mailto:${listSubAddress(list, 'leave')}?subject=unsubscribe`;
}

/**
 * A post's stable key in the archive: base32 of the SHA-1 of its Message-ID without angle brackets, as
 * HyperKitty's X-Message-ID-Hash, so the same post keeps its address across exports and imports.
 */
export function messageIdHash(messageId: string): string {
  const id = messageId.trim().replace(/^<|>$/g, '');
  return base32Encode(createHash('sha1').update(id, 'utf8').digest()).toUpperCase();
}

/** The permanent archive address of a post (Archived-At, RFC 5064). */
export function permalink(publicUrl: string, list: string, messageId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/archive/${encodeURIComponent(list.toLowerCase())}/${messageIdHash(messageId)}`;
}
