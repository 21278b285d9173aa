// The last step before a list message goes out: DKIM-sign it with the list domain's key, and ARC-seal a post
// that arrived authenticated, so receivers can trust what the list changed (RFC 6376, RFC 8617).
import { createHash } from 'node:crypto';
import { Headers } from '@zone-eu/mailsplit';
import { dkimSign, sealMessage, type ARCSealOptions } from 'mailauth';
import { LRUCache } from 'lru-cache';
import { authservIdOf, listAuthservId } from '../mail/auth-results.js';
import { splitHeaderBlock } from '../mail/message.js';
import { getDkimKey, type StoredDkimKey } from '../store/dkim-keys.js';
import { createByteCache, SIGNED_CACHE_BYTES, type ByteCache } from './byte-cache.js';
import type { ActivityDeps } from './deps.js';

/**
 * What the signature covers: the author and subject fields, the MIME fields, threading, and every list header
 * (RFC 2369, RFC 2919, RFC 8058's List-Unsubscribe-Post), so none can be changed or replaced on the way.
 */
export const SIGNED_HEADERS = [
  'From', 'Sender', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'Cc', 'MIME-Version', 'Content-Type',
  'Content-Transfer-Encoding', 'In-Reply-To', 'References', 'List-Id', 'List-Help', 'List-Unsubscribe',
  'List-Unsubscribe-Post', 'List-Subscribe', 'List-Post', 'List-Owner', 'List-Archive', 'Archived-At', 'Precedence', 'X-BeenThere',
];
// mailauth 4.13 reads headerList only as a colon-separated string (an array silently gives its default list,
// which lacks List-Unsubscribe-Post), whatever its typings say.
const HEADER_LIST = SIGNED_HEADERS.join(':') as unknown as string[];

/** A key change (`listflow domains dkim --force`) reaches running workers within this time. */
const KEY_TTL_MS = 60_000;
/** Identical bytes get one signature: a bulk post or unpersonalized copies are signed once, not per send. */
const MEMO_SIZE = 32;
/** Domains whose key (or its absence) is remembered; a site with more just reads the table more often. */
const KEYS_CACHED = 1000;

interface SignerState {
  keys: LRUCache<string, { key: StoredDkimKey | null }>;
  /** Bounded in bytes as well as entries: 32 signed 25 MiB posts would be 800 MiB. */
  memo: ByteCache;
}
const states = new WeakMap<ActivityDeps, SignerState>();

function stateOf(deps: ActivityDeps): SignerState {
  let s = states.get(deps);
  if (!s) states.set(deps, (s = { keys: new LRUCache({ max: KEYS_CACHED, ttl: KEY_TTL_MS }), memo: createByteCache(SIGNED_CACHE_BYTES, MEMO_SIZE) }));
  return s;
}

async function keyFor(deps: ActivityDeps, domain: string): Promise<StoredDkimKey | null> {
  const s = stateOf(deps);
  const cached = s.keys.get(domain);
  if (cached) return cached.key;
  const key = await getDkimKey(deps.db, domain);
  s.keys.set(domain, { key });
  return key;
}

export interface ArcInput {
  /** The Authentication-Results value listflow recorded (authserv-id first), carried into ARC-Authentication-Results. */
  authResults: string;
  /** The chain validation status of what arrived: none (no chain) or pass. */
  cv: 'none' | 'pass';
}

/**
 * Whether a message should be ARC-sealed, read from listflow's own Authentication-Results (under the list's
 * authserv-id; forged ones were removed on acceptance): it arrived with DMARC, DKIM or ARC passing, and any
 * chain it had is intact (a failed chain cannot be continued).
 */
export function arcInputOf(raw: Buffer, authservId: string): ArcInput | null {
  const headers = new Headers(splitHeaderBlock(raw).header);
  const ours = headers
    .getList()
    .filter((l) => l.key === 'authentication-results')
    .map((l) => l.line.slice(l.line.indexOf(':') + 1).replace(/^[ \t]+/, ''))
    .find((v) => authservIdOf(v) === authservId.toLowerCase());
  if (!ours) return null;
  const results = new Map<string, string>();
  for (const part of ours.split(';').slice(1)) {
    const m = /^\s*(dkim|dmarc|arc|spf)=([a-z]+)/i.exec(part);
    // The first result of a method counts (DKIM: any passing signature is listed; pass wins below).
    if (m?.[1] && m[2] && (!results.has(m[1].toLowerCase()) || m[2].toLowerCase() === 'pass')) results.set(m[1].toLowerCase(), m[2].toLowerCase());
  }
  const arc = results.get('arc') ?? 'none';
  if (arc !== 'none' && arc !== 'pass') return null;
  const authenticated = results.get('dmarc') === 'pass' || results.get('dkim') === 'pass' || arc === 'pass';
  return authenticated ? { authResults: ours.replace(/\r?\n$/, ''), cv: arc } : null;
}

/**
 * Signs (and, for a post that arrived authenticated, seals) `raw` with the DKIM key of the list's domain, or
 * returns it as it is when the domain has no key. Call it on the exact bytes about to be sent.
 */
export async function signOutgoing(raw: Buffer, list: string, deps: ActivityDeps): Promise<Buffer> {
  const domain = listAuthservId(list);
  const key = await keyFor(deps, domain);
  if (!key) return raw;
  const s = stateOf(deps);
  const digest = createHash('sha256').update(key.domain).update(key.selector).update(key.publicKey).update(raw).digest('hex');
  const memo = s.memo.get(digest);
  if (memo) return memo;

  const parts: Buffer[] = [];
  // ARC in mailauth 4.13 is RSA only: an Ed25519 domain gets the DKIM signature alone.
  const arc = key.algorithm === 'rsa' ? arcInputOf(raw, domain) : null;
  if (arc) {
    const seal = {
      signingDomain: key.domain,
      selector: key.selector,
      privateKey: key.privateKey,
      headerList: HEADER_LIST,
      authResults: arc.authResults,
      cv: arc.cv,
    } as ARCSealOptions;
    parts.push(await sealMessage(raw, seal));
  }
  const one = { signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey };
  // The signer reads only signatureData; the typings ask for the top-level fields as well.
  const signed = await dkimSign(raw, { ...one, headerList: HEADER_LIST, signatureData: [one] });
  if (signed.errors.length) {
    // A broken stored key must not stop the list's mail: it goes out unsigned, and the operator is told.
    const err = signed.errors[0] as { err?: Error } | Error;
    console.warn(`listflow: DKIM signing for ${domain} failed (${('err' in err && err.err ? err.err : (err as Error)).message}); sent unsigned`);
    return raw;
  }
  const out = Buffer.concat([Buffer.from(signed.signatures), ...parts, raw]);
  s.memo.set(digest, out);
  return out;
}
