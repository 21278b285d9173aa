// Envelope addresses as SMTP writes them, reduced to the mailbox they name before anything compares them.

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * `"dev"@example.org` is `dev@example.org` (RFC 5321 4.1.2: a quoted string that needs no quoting names the same
 * mailbox); quoted pairs (`"d\ev"`) are unescaped. A local part that really needs its quotes stays as it came: no list
 * has such a name, so it is refused like any other stranger. Source routes (`<@relay:dev@example.org>`) never reach
 * here: smtp-server drops them, as RFC 5321 4.1.1.3 and appendix C ask.
 */
export function canonicalEnvelopeAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 2) return address;
  const local = address.slice(0, at);
  if (!local.startsWith('"') || !local.endsWith('"')) return address;
  const unquoted = local.slice(1, -1).replace(/\\(.)/g, '$1');
  return DOT_ATOM.test(unquoted) ? `${unquoted}${address.slice(at)}` : address;
}
