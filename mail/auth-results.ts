// The Authentication-Results header members receive: ours, under the list's authserv-id, on top; any that
// arrived claiming that authserv-id removed first (RFC 8601 §5: only we may speak for it, so those are forged).
import { Headers } from '@zone-eu/mailsplit';
import { splitHeaderBlock } from './message.js';

/** A list's authserv-id: its domain. */
export function listAuthservId(list: string): string {
  return list.slice(list.lastIndexOf('@') + 1).toLowerCase();
}

/** The authserv-id an Authentication-Results value starts with (before any version, comment or ';'), lower-case. */
export function authservIdOf(value: string): string {
  let rest = value.replace(/\r?\n[ \t]/g, ' ').trimStart();
  // Leading comments are CFWS (RFC 5322 §3.2.2); nested parentheses are rare enough to read one level.
  while (rest.startsWith('(')) {
    const end = rest.indexOf(')');
    if (end < 0) return '';
    rest = rest.slice(end + 1).trimStart();
  }
  const m = /^[^\s;()]+/.exec(rest);
  return (m?.[0] ?? '').replace(/\.$/, '').toLowerCase();
}

/**
 * Removes incoming Authentication-Results headers that name `authservId`, and prepends `value` (when given)
 * as ours. Every other header line and the body keep their bytes.
 */
export function addAuthenticationResults(raw: Buffer, authservId: string, value: string | null): Buffer {
  const { header, body } = splitHeaderBlock(raw);
  const id = authservId.toLowerCase();
  const parsed = new Headers(header);
  const lines = parsed.getList();
  const forged = lines.filter((l) => l.key === 'authentication-results' && authservIdOf(l.line.slice(l.line.indexOf(':') + 1)) === id);
  if (forged.length === 0 && value === null) return raw;
  const headers = forged.length ? new Headers(lines.filter((l) => !forged.includes(l))) : parsed;
  if (value !== null) headers.addFormatted('Authentication-Results', `Authentication-Results: ${value}`);
  return Buffer.concat([headers.build(), body]);
}
