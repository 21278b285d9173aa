// A moderator pre-approves a post with the list's password in an Approved: header or first body line.
import { verifyPassword } from '../password.js';
import type { Approver, Rule } from './types.js';

import { APPROVAL_HEADERS } from '../approval-line.js';

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

export const approved: Rule = {
  name: 'approved',
  description: 'An Approved: (or Approve:) header, or the first body line, carries the moderator password.',
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
    return { hit: false, reason: `${where} does not carry the moderator password` };
  },
};
