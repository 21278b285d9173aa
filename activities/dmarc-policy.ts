// DMARC mitigation at acceptance: which policy governs the post's From domain (from the verification, or
// looked up through the injected resolver when the verification cannot say), and the mitigated message.
import { dmarc } from 'mailauth';
import {
  applyDmarcMitigation,
  fromDomainOf,
  mitigationFor,
  policyFromAuth,
  policyWord,
  type AppliedMitigation,
  type PolicyFinding,
} from '../mail/dmarc-mitigation.js';
import type { AuthSummary } from '../mail/authenticity.js';
import { readFacts } from '../mail/message.js';
import type { ListSettings } from '../mail/settings.js';
import type { ActivityDeps } from './deps.js';
import { withBudget } from './dns.js';

const LOOKUP_BUDGET_MS = 10_000;

/**
 * The policy for the From of `raw`. The verification's result is used when it speaks for that domain; a
 * lookup is made only when it does not (a post that was not verified, a moderator's edit with another From,
 * a DNS failure at verification).
 */
export async function findPolicy(raw: Buffer, auth: AuthSummary | null, deps: ActivityDeps): Promise<PolicyFinding | undefined> {
  const from = readFacts(raw).from;
  const domain = fromDomainOf(from);
  const known = policyFromAuth(auth, domain);
  if ((known && known.policy !== null) || !deps.dns || !from || !domain) return known;
  const result = await dmarc({ headerFrom: from, spfDomains: [], dkimDomains: [], resolver: withBudget(deps.dns, LOOKUP_BUDGET_MS) });
  if (!result) return known;
  const word = String(result.status?.result ?? '');
  if (word === 'temperror' || word === 'temperr') return { domain: result.domain ?? domain, policy: null };
  return { domain: result.domain ?? domain, policy: word === 'none' ? 'none' : policyWord(result.policy) };
}

/** Munges or wraps the decorated post when the list's settings and the From domain's policy call for it. */
export async function mitigateDmarc(
  decorated: Buffer,
  original: Buffer,
  list: { address: string; displayName: string; settings: ListSettings },
  auth: AuthSummary | null,
  deps: ActivityDeps,
): Promise<{ raw: Buffer; applied: AppliedMitigation | null; finding?: PolicyFinding }> {
  const s = list.settings;
  if (s.dmarc_mitigate_action !== 'munge_from' && s.dmarc_mitigate_action !== 'wrap_message') return { raw: decorated, applied: null };
  const finding = s.dmarc_mitigate_unconditionally ? undefined : await findPolicy(original, auth, deps);
  const applied = mitigationFor(s, finding);
  const raw = await applyDmarcMitigation(decorated, original, applied, {
    list: list.address,
    displayName: list.displayName,
    wrappedText: s.dmarc_wrapped_message_text,
  });
  return { raw, applied, ...(finding ? { finding } : {}) };
}
