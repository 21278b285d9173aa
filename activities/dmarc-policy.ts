// DMARC mitigation at acceptance: which policy governs the post's From domain (from the verification, or
// looked up through the injected resolver when the verification cannot say: never inside a transaction),
// and the mitigated message.
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

/** Whether the list's DMARC mitigation depends on the From domain's policy at all. */
export function needsPolicy(s: ListSettings): boolean {
  return (s.dmarc_mitigate_action === 'munge_from' || s.dmarc_mitigate_action === 'wrap_message') && !s.dmarc_mitigate_unconditionally;
}

/**
 * What is known of the policy for the From of `raw` without asking DNS: the verification's result when it
 * speaks for that domain. `lookup` names the domain to ask about when it does not (a post that was not
 * verified, a moderator's edit with another From, a DNS failure at verification) and a resolver is there.
 */
export function knownPolicy(raw: Buffer, auth: AuthSummary | null, deps: ActivityDeps): { finding?: PolicyFinding; lookup?: string } {
  const from = readFacts(raw).from;
  const domain = fromDomainOf(from);
  const known = policyFromAuth(auth, domain);
  if ((known && known.policy !== null) || !deps.dns || !from || !domain) return known ? { finding: known } : {};
  return { ...(known ? { finding: known } : {}), lookup: domain };
}

/** The policy for the From of `raw`, looked up through DNS when the verification cannot say (a network wait). */
export async function findPolicy(raw: Buffer, auth: AuthSummary | null, deps: ActivityDeps): Promise<PolicyFinding | undefined> {
  const { finding, lookup } = knownPolicy(raw, auth, deps);
  const from = readFacts(raw).from;
  if (!lookup || !deps.dns || !from) return finding;
  const result = await dmarc({ headerFrom: from, spfDomains: [], dkimDomains: [], resolver: withBudget(deps.dns, LOOKUP_BUDGET_MS) });
  if (!result) return finding;
  const word = String(result.status?.result ?? '');
  if (word === 'temperror' || word === 'temperr') return { domain: result.domain ?? lookup, policy: null };
  return { domain: result.domain ?? lookup, policy: word === 'none' ? 'none' : policyWord(result.policy) };
}

/** Munges or wraps the decorated post when the list's settings and the From domain's policy call for it (no DNS). */
export async function mitigateDmarc(
  decorated: Buffer,
  original: Buffer,
  list: { address: string; displayName: string; settings: ListSettings },
  finding: PolicyFinding | undefined,
): Promise<{ raw: Buffer; applied: AppliedMitigation | null; finding?: PolicyFinding }> {
  const s = list.settings;
  if (s.dmarc_mitigate_action !== 'munge_from' && s.dmarc_mitigate_action !== 'wrap_message') return { raw: decorated, applied: null };
  const used = s.dmarc_mitigate_unconditionally ? undefined : finding;
  const applied = mitigationFor(s, used);
  const raw = await applyDmarcMitigation(decorated, original, applied, {
    list: list.address,
    displayName: list.displayName,
    wrappedText: s.dmarc_wrapped_message_text,
  });
  return { raw, applied, ...(used ? { finding: used } : {}) };
}
