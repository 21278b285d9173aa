// The moderator password check for a post's Approved: line, run by the classifying activity before the pure
// chain: scrypt on the thread pool (async), at most once per post, its result handed to the approved rule.
import type { MessageFacts } from './message.js';
import { verifyPassword } from './password.js';
import { approvalCandidates } from './rules/approved.js';
import type { Approver, PasswordCheck } from './rules/types.js';

/**
 * Which secret the password is tried on: the first one the other approvers (moderator tokens) do not
 * already accept. One KDF run per post, whatever the post offers: dozens of Approved: headers cost no more.
 */
export function passwordCandidate(facts: Pick<MessageFacts, 'headers' | 'approvalLine'>, approvers: readonly Approver[]) {
  return approvalCandidates(facts).find((c) => approvers.every((approve) => approve(c.secret) === null)) ?? null;
}

/** Null when the list has no password or the post offers nothing to check. `verify` is for tests. */
export async function checkModeratorPassword(
  hash: string,
  facts: Pick<MessageFacts, 'headers' | 'approvalLine'>,
  approvers: readonly Approver[],
  verify: (stored: string, password: string) => Promise<boolean> = verifyPassword,
): Promise<PasswordCheck | null> {
  if (!hash) return null;
  const candidate = passwordCandidate(facts, approvers);
  if (!candidate) return null;
  return { where: candidate.where, ok: await verify(hash, candidate.secret) };
}
