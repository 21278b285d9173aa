// A post whose From is a member but which the member's domain does not vouch for is likely forged.
import type { AuthSummary } from '../authenticity.js';
import type { Rule } from './types.js';

/**
 * SPF results that say the client may not send for the domain. none and neutral say nothing, permerror is the
 * domain's broken record and temperror a DNS problem: holding every such member post would punish the wrong party.
 */
const SPF_FAILED = new Set(['fail', 'softfail']);

/** Why the member's address looks forged, or null when the results do not say so. */
export function spoofReason(auth: AuthSummary): string | null {
  if (auth.error) return `the message could not be verified (${auth.error})`;
  if (auth.dmarc.result === 'fail') {
    return `it fails DMARC for ${auth.dmarc.fromDomain ?? 'the From domain'} (no aligned SPF or DKIM pass; spf=${auth.spf.result}, dkim=${auth.dkim.result})`;
  }
  if (SPF_FAILED.has(auth.spf.result) && auth.dkim.result !== 'pass') {
    return `it fails both SPF (spf=${auth.spf.result} for ${auth.spf.clientIp ?? 'the client'}) and DKIM (dkim=${auth.dkim.result})`;
  }
  return null;
}

export const spoofedMember: Rule = {
  name: 'spoofed-member',
  description: "From is a member but the message fails DMARC alignment, or fails both SPF and DKIM (setting hold_spoofed_members).",
  check({ facts, poster, list, auth }) {
    if (!list.settings.hold_spoofed_members) return { hit: false, reason: 'hold_spoofed_members is off' };
    if (!facts.from || !poster.isMember) return { hit: false, reason: 'From is not a member' };
    if (!auth) return { hit: false, reason: 'the sender was not verified' };
    const why = spoofReason(auth);
    return why
      ? { hit: true, reason: `From is the member ${facts.from}, but ${why}` }
      : { hit: false, reason: `the member's address is not contradicted (spf=${auth.spf.result}, dkim=${auth.dkim.result}, dmarc=${auth.dmarc.result})` };
  },
};
