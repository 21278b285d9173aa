// Signed tokens for -confirm+TOKEN addresses: HMAC-SHA256 with the site secret, bound to a list, a subject and an action.
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Kinds of token and the actions each can carry. The position in each array is the wire code, so only
 * append.
 */
export const TOKEN_KINDS = {
  moderation: ['approve', 'reject', 'discard'],
  /** A moderator's standing approval for the list, used as `Approved: <token>`; ref is the moderator's address. */
  approval: ['approve'],
  /** RFC 8058 one-click unsubscription of one member; ref is the member's VERP token. */
  unsubscribe: ['unsubscribe'],
  /** Confirms a pending subscription or unsubscription; ref is the pending request's id (see store/subscriptions.ts). */
  subscription: ['subscribe', 'unsubscribe'],
  /** A member disabled by bounces turns delivery back on (cancels the removal countdown); ref is the member's VERP token. */
  reenable: ['reenable'],
} as const satisfies Record<string, readonly string[]>;

export type TokenKind = keyof typeof TOKEN_KINDS;
export type TokenAction<K extends TokenKind = TokenKind> = (typeof TOKEN_KINDS)[K][number];

/** The wire code of each kind: append only. */
const KIND_CODES: TokenKind[] = ['moderation', 'approval', 'unsubscribe', 'subscription', 'reenable'];

export interface TokenClaims<K extends TokenKind = TokenKind> {
  kind: K;
  action: TokenAction<K>;
  /** The list the token is for (lower-case posting address); not carried in the token but signed. */
  list: string;
  /** What the token acts on, as bytes the list needs to find it (for a post: the 8 bytes of its message key). */
  ref: Buffer;
  /** Seconds since the epoch after which the token is refused. */
  expiresAt: number;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; why: 'malformed' | 'forged' | 'expired' | 'other-list'; message: string };

const VERSION = 1;
const MAC_BYTES = 10;
/** version+kind, action, expiry (uint32 seconds), ref length. */
const HEAD_BYTES = 1 + 1 + 4 + 1;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lower-case and unpadded: safe in a local part, and MTAs that fold case do no harm. */
export function base32Encode(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 in either case; null for any character outside the alphabet or a ragged tail. */
export function base32Decode(text: string): Buffer | null {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.toLowerCase()) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  // Leftover bits must be padding zeros from encoding, fewer than one character's worth.
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) return null;
  return Buffer.from(bytes);
}

function mac(secret: string, head: Buffer, list: string, ref: Buffer): Buffer {
  // The list is signed, not carried: a token copied to another list's -confirm address fails.
  return createHmac('sha256', secret)
    .update('listflow-token\0')
    .update(head)
    .update(ref)
    .update('\0')
    .update(list.toLowerCase())
    .digest()
    .subarray(0, MAC_BYTES);
}

export function issueToken(secret: string, claims: TokenClaims): string {
  const kindCode = KIND_CODES.indexOf(claims.kind);
  const actionCode = (TOKEN_KINDS[claims.kind] as readonly string[]).indexOf(claims.action);
  if (kindCode < 0 || actionCode < 0) throw new Error(`no such token kind/action: ${claims.kind}/${claims.action}`);
  if (claims.ref.length > 64) throw new Error('a token ref is at most 64 bytes');
  const head = Buffer.alloc(HEAD_BYTES);
  head.writeUInt8((VERSION << 4) | kindCode, 0);
  head.writeUInt8(actionCode, 1);
  head.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.ceil(claims.expiresAt))), 2);
  head.writeUInt8(claims.ref.length, 6);
  return base32Encode(Buffer.concat([head, claims.ref, mac(secret, head, claims.list, claims.ref)]));
}

/** Checks a token as it came in an address (any case) for `list`, at `nowSeconds`; constant-time MAC compare. */
export function verifyToken(secret: string, token: string, list: string, nowSeconds: number): TokenCheck {
  const bytes = base32Decode(token.trim());
  if (!bytes || bytes.length < HEAD_BYTES + MAC_BYTES) return { ok: false, why: 'malformed', message: 'the token is not one listflow issues' };
  const head = bytes.subarray(0, HEAD_BYTES);
  const refLength = head.readUInt8(6);
  if (bytes.length !== HEAD_BYTES + refLength + MAC_BYTES) return { ok: false, why: 'malformed', message: 'the token is not one listflow issues' };
  const ref = bytes.subarray(HEAD_BYTES, HEAD_BYTES + refLength);
  const given = bytes.subarray(HEAD_BYTES + refLength);
  if (!timingSafeEqual(given, mac(secret, head, list, ref))) {
    return { ok: false, why: 'forged', message: 'the token does not carry a valid signature for this list (altered, forged, or for another list)' };
  }
  // Only a signed head is interpreted: a forged one never gets this far.
  const kind = KIND_CODES[head.readUInt8(0) & 0x0f];
  const action = kind ? (TOKEN_KINDS[kind] as readonly string[])[head.readUInt8(1)] : undefined;
  if (head.readUInt8(0) >> 4 !== VERSION || !kind || !action) return { ok: false, why: 'malformed', message: 'the token is of a version or kind this server does not know' };
  const expiresAt = head.readUInt32BE(2);
  if (nowSeconds > expiresAt) {
    return { ok: false, why: 'expired', message: `the token expired at ${new Date(expiresAt * 1000).toISOString()}` };
  }
  return { ok: true, claims: { kind, action: action as TokenAction, list: list.toLowerCase(), ref: Buffer.from(ref), expiresAt } };
}

/** A post's token ref: the 8 bytes of its 16-hex message key (the workflow ID is `post/<list>/<key>`). */
export function postRef(workflowId: string): Buffer {
  const key = /\/([0-9a-f]{16})$/.exec(workflowId)?.[1];
  if (!key) throw new Error(`not a post workflow ID: ${workflowId}`);
  return Buffer.from(key, 'hex');
}

export function postWorkflowIdOf(list: string, ref: Buffer): string {
  return `post/${list.toLowerCase()}/${ref.toString('hex')}`;
}

/** The key under which a used token is recorded: its signature, which no two tokens share in practice. */
export function tokenKey(token: string): string {
  return (base32Decode(token.trim()) ?? Buffer.alloc(0)).toString('hex');
}
