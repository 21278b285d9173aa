// A list set to refuse (dmarc_mitigate_action reject or discard) mail whose From domain publishes DMARC
// p=quarantine or p=reject: the list's changes would make members' providers refuse it anyway.
import { fromDomainOf, policyFromAuth } from '../dmarc-mitigation.js';
import type { Rule } from './types.js';

/** Mailman's standard text, used when dmarc_moderation_notice is empty. */
const DEFAULT_NOTICE =
  'posts From a domain whose DMARC policy is reject or quarantine are not accepted by this list; if you think this is wrong, write to the list owner';

export const dmarcMitigation: Rule = {
  name: 'dmarc-mitigation',
  description: 'dmarc_mitigate_action is reject/discard and the From domain publishes DMARC p=quarantine or p=reject.',
  check({ facts, list, auth }) {
    const s = list.settings;
    const action = s.dmarc_mitigate_action;
    if (action !== 'reject' && action !== 'discard') return { hit: false, reason: `dmarc_mitigate_action is ${action}` };
    const finding = policyFromAuth(auth, fromDomainOf(facts.from));
    // Only a policy actually read counts: a DNS failure is nobody's fault and never refuses a post.
    if (!finding || finding.policy === null) return { hit: false, reason: 'the From domain\'s DMARC policy is not known' };
    if (finding.policy === 'none') return { hit: false, reason: `${finding.domain} publishes DMARC p=none` };
    const notice = s.dmarc_moderation_notice.trim() || DEFAULT_NOTICE;
    return { hit: true, action, reason: `${finding.domain} publishes DMARC p=${finding.policy}: ${notice}` };
  },
};
