// DKIM keys for list domains: checking a domain and selector, making a key pair, and the DNS TXT record that
// publishes its public half (RFC 6376 §3.6.1, RFC 8463 for Ed25519).
import { generateKeyPairSync } from 'node:crypto';
import { domainToASCII } from 'node:url';

export type DkimAlgorithm = 'rsa' | 'ed25519';

export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM; never printed. */
  privateKey: string;
  /** The p= value: base64 of the SPKI DER (RSA) or of the raw 32-byte key (Ed25519). */
  publicKey: string;
}

export class DkimKeyError extends Error {
  override name = 'DkimKeyError';
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A domain as DNS and DKIM's d= want it: ASCII (IDNs converted), lower-case, at least two labels. */
export function dkimDomain(text: string): string {
  const trimmed = text.trim().replace(/\.$/, '');
  const ascii = trimmed ? domainToASCII(trimmed.toLowerCase()) : '';
  const labels = ascii.split('.');
  if (!ascii || ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1] ?? '')) {
    throw new DkimKeyError(`"${text}" is not a domain name (e.g. lists.example.org)`);
  }
  return ascii;
}

/** A selector is one or more DNS labels (RFC 6376 §3.1). */
export function dkimSelector(text: string): string {
  const s = text.trim().toLowerCase();
  if (!s || s.length > 63 || !s.split('.').every((l) => LABEL.test(l))) {
    throw new DkimKeyError(`"${text}" is not a selector (letters, digits and hyphens, e.g. lf202611)`);
  }
  return s;
}

/** A selector naming the month, so a later key can get a new one and both records can be published at once. */
export function defaultSelector(now = new Date()): string {
  return `lf${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

export const RSA_BITS = [1024, 2048, 3072, 4096] as const;

export function generateDkimKey(domain: string, selector: string, algorithm: DkimAlgorithm, bits = 2048): DkimKey {
  if (algorithm === 'rsa') {
    if (!(RSA_BITS as readonly number[]).includes(bits)) throw new DkimKeyError(`--bits must be one of ${RSA_BITS.join(', ')} (2048 recommended)`);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    return {
      domain,
      selector,
      algorithm,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // RFC 8463: p= is the bare key; the SPKI DER of an Ed25519 key is a fixed 12-byte prefix and those 32 bytes.
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { domain, selector, algorithm, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey: der.subarray(der.length - 32).toString('base64') };
}

export function recordName(key: Pick<DkimKey, 'domain' | 'selector'>): string {
  return `${key.selector}._domainkey.${key.domain}`;
}

export function recordValue(key: Pick<DkimKey, 'algorithm' | 'publicKey'>): string {
  return `v=DKIM1; k=${key.algorithm}; p=${key.publicKey}`;
}

/** The zone-file line to publish: the value split into quoted strings of at most 255 bytes (RFC 1035 §3.3.14). */
export function zoneLine(key: Pick<DkimKey, 'domain' | 'selector' | 'algorithm' | 'publicKey'>): string {
  const value = recordValue(key);
  const strings: string[] = [];
  for (let i = 0; i < value.length; i += 255) strings.push(`"${value.slice(i, i + 255)}"`);
  return `${recordName(key)} IN TXT ${strings.join(' ')}`;
}
