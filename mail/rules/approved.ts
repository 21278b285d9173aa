// A moderator pre-approves a post with the list's password in an Approved: header or first body line.
// The password is checked by the classifying activity before the chain runs (scrypt, async, at most once per
// post: see approval-password.ts); this rule only reads that result, so it stays pure and cheap.
import { APPROVAL_HEADERS } from '../approval-line.js';
import type { MessageFacts } from '../message.js';
import { verifyToken } from '../tokens.js';
import type { Approver, Rule } from './types.js';

export interface ApprovalCandidate {
  where: string;
  secret: string;
}

/** The secrets a post offers, in order: Approved:-style headers as they come, then the first body line. */
export function approvalCandidates(facts: Pick<MessageFacts, 'headers' | 'approvalLine'>): ApprovalCandidate[] {
  const out: ApprovalCandidate[] = [];
  for (const h of facts.headers) {
    if (APPROVAL_HEADERS.includes(h.name) && h.value.trim()) out.push({ where: `the ${h.name} header`, secret: h.value.trim() });
  }
  if (facts.approvalLine) out.push({ where: 'the first line of the body', secret: facts.approvalLine });
  // Tokens are cheap to check, but a post with dozens of Approved: headers gets no more than four tries.
  return out.slice(0, 4);
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
    const found = approvalCandidates(input.facts);
    if (found.length === 0) return { hit: false, reason: 'no Approved: header or first line' };
    const where = found.map((c) => c.where).join(' and ');
    if (input.password?.ok && input.list.settings.moderator_password) {
      return { hit: true, reason: `${input.password.where} carries the list's moderator password` };
    }
    for (const c of found) {
      for (const approve of input.approvers) {
        const what = approve(c.secret);
        if (what) return { hit: true, reason: `${c.where} carries ${what}` };
      }
    }
    if (!input.list.settings.moderator_password && input.approvers.length === 0) {
      return { hit: false, reason: `${where} has an Approved: password, but the list has none set` };
    }
    // Never the secret itself: reasons go into notices and the status query.
    return { hit: false, reason: `${where} does not carry the moderator password or a valid moderator token` };
  },
};
