// A moderator pre-approves a post with the list's password in an Approved: header or first body line.
import { APPROVAL_HEADERS } from '../approval-line.js';
import { verifyPassword } from '../password.js';
import { verifyToken } from '../tokens.js';
import type { Approver, Rule } from './types.js';

interface Candidate {
  where: string;
  secret: string;
}

function candidates(input: Parameters<Rule['check']>[0]): Candidate[] {
  const out: Candidate[] = [];
  for (const h of input.facts.headers) {
    if (APPROVAL_HEADERS.includes(h.name) && h.value.trim()) out.push({ where: `the ${h.name} header`, secret: h.value.trim() });
  }
  if (input.facts.approvalLine) out.push({ where: 'the first line of the body', secret: input.facts.approvalLine });
  // Each check costs a scrypt run; a post with dozens of Approved: headers gets no more than four tries.
  return out.slice(0, 4);
}

/** Accepts the list's moderator password (a salted scrypt hash, as the settings store it). */
export function passwordApprover(hash: string): Approver {
  return (secret) => (verifyPassword(hash, secret) ? "the list's moderator password" : null);
}

/**
 * Accepts a moderator token (`listflow lists approval-token`): signed with the site secret for this list, of
 * the approval kind, not expired. Unlike the password it names who it was issued to, and it can be left to expire.
 */
export function tokenApprover(siteSecret: string, list: string, nowSeconds: number): Approver {
  return (secret) => {
    if (!/^[a-z2-7]{20,200}$/i.test(secret)) return null;
    const check = verifyToken(siteSecret, secret, list, nowSeconds);
    if (!check.ok || check.claims.kind !== 'approval') return null;
    const until = new Date(check.claims.expiresAt * 1000).toISOString().slice(0, 10);
    return `a moderator token issued to ${check.claims.ref.toString('utf8')} (valid until ${until})`;
  };
}

export const approved: Rule = {
  name: 'approved',
  description: 'An Approved: (or Approve:) header, or the first body line, carries the moderator password or a moderator token.',
  check(input) {
    const found = candidates(input);
    if (found.length === 0) return { hit: false, reason: 'no Approved: header or first line' };
    const where = found.map((c) => c.where).join(' and ');
    if (input.approvers.length === 0) return { hit: false, reason: `${where} has an Approved: password, but the list has none set` };
    for (const c of found) {
      for (const approve of input.approvers) {
        const what = approve(c.secret);
        if (what) return { hit: true, reason: `${c.where} carries ${what}` };
      }
    }
    // Never the secret itself: reasons go into notices and the status query.
    return { hit: false, reason: `${where} does not carry the moderator password or a valid moderator token` };
  },
};
