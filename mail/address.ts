// Addresses: validating what people type, normalising for matching, and reading list sub-addresses.
import { domainToASCII } from 'node:url';
import emailAddresses from 'email-addresses';

export type AddressKind = 'post' | 'request' | 'owner' | 'bounces' | 'confirm' | 'join' | 'leave';

export interface ListRecipient {
  /** The list's posting address, lower-case. */
  list: string;
  kind: AddressKind;
  /** The part after '+' for bounces+VERP and confirm+TOKEN. */
  detail?: string;
}

export class AddressError extends Error {
  override name = 'AddressError';
}

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Validates one address as a person typed it (no display name, no comments) and returns it with
 * the domain lower-cased and in ASCII (IDNA). Throws AddressError with the reason.
 */
export function normalizeAddress(input: string): string {
  const text = input.trim();
  if (text === '') throw new AddressError('empty address');
  if (text.length > 254) throw new AddressError(`"${text.slice(0, 40)}…" is longer than 254 characters`);
  if (/[\s<>(),;:"\\[\]]/.test(text) && !/^"[^"]*"@/.test(text)) {
    throw new AddressError(`"${text}" is not a plain address (no names, spaces, brackets or commas)`);
  }
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) throw new AddressError(`"${text}" is not an address (local@domain)`);
  const local = text.slice(0, at);
  const domain = domainToASCII(text.slice(at + 1).toLowerCase());
  if (!domain || !domain.includes('.') || !domain.split('.').every((label) => LABEL.test(label))) {
    throw new AddressError(`"${text}": "${text.slice(at + 1)}" is not a domain name`);
  }
  if (Buffer.byteLength(local) > 64) throw new AddressError(`"${text}": the local part is longer than 64 octets`);
  const candidate = `${local}@${domain}`;
  // Almost every real address is a plain dot-atom at an ASCII host name; only the rest needs the full parser.
  if (DOT_ATOM.test(local)) return candidate;
  const parsed = emailAddresses.parseOneAddress({ input: candidate, rfc6532: true, rejectTLD: true });
  if (!parsed || parsed.type !== 'mailbox') throw new AddressError(`"${text}" is not a valid address`);
  return candidate;
}

/** The key addresses are compared by: lower-case throughout (what every list manager does in practice). */
export function addressKey(address: string): string {
  return address.trim().toLowerCase();
}

const SUFFIXES: [string, AddressKind][] = [
  ['-request', 'request'],
  ['-owner', 'owner'],
  ['-bounces', 'bounces'],
  ['-confirm', 'confirm'],
  ['-join', 'join'],
  ['-leave', 'leave'],
];

/**
 * Reads an envelope recipient as a list address. `isList` says whether a posting address
 * exists. An exact list name wins over a suffix, so a list called `x-owner@` stays reachable.
 * Returns null for anything that is not one of listflow's addresses.
 */
export function parseListRecipient(rcpt: string, isList: (address: string) => boolean): ListRecipient | null {
  const address = addressKey(rcpt);
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (isList(address)) return { list: address, kind: 'post' };
  const plus = local.indexOf('+');
  const base = plus >= 0 ? local.slice(0, plus) : local;
  const detail = plus >= 0 ? local.slice(plus + 1) : undefined;
  for (const [suffix, kind] of SUFFIXES) {
    if (!base.endsWith(suffix) || base.length === suffix.length) continue;
    const list = `${base.slice(0, -suffix.length)}@${domain}`;
    if (!isList(list)) continue;
    if (detail !== undefined && kind !== 'bounces' && kind !== 'confirm') return null;
    if (kind === 'confirm' && !detail) return null;
    return detail ? { list, kind, detail: rcpt.slice(rcpt.indexOf('+') + 1, rcpt.lastIndexOf('@')) } : { list, kind };
  }
  return null;
}

/** The sub-address of a list: `dev@x` + `request` → `dev-request@x`, with an optional `+detail`. */
export function listSubAddress(list: string, kind: Exclude<AddressKind, 'post'>, detail?: string): string {
  const at = list.lastIndexOf('@');
  return `${list.slice(0, at)}-${kind}${detail ? `+${detail}` : ''}@${list.slice(at + 1)}`;
}
