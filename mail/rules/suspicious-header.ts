// Headers the list owner finds suspicious (bounce_matching_headers, as in Mailman): a moderator looks first.
import { firstHeaderMatch, storedHeaderRule } from '../header-rules.js';
import type { Rule } from './types.js';

export const suspiciousHeader: Rule = {
  name: 'suspicious-header',
  description: 'A header matches one of the list\'s bounce_matching_headers ("Header: regex").',
  check({ facts, list }) {
    // A stored row that no longer compiles throws when reached: a rule error, so the post is held with the reason.
    const rules = list.settings.bounce_matching_headers.map((t) => storedHeaderRule(t, false));
    const m = firstHeaderMatch(rules, facts.headers);
    if (!m) return { hit: false, reason: 'no bounce_matching_headers row matches' };
    const shown = m.value.length > 80 ? `${m.value.slice(0, 79)}…` : m.value;
    return { hit: true, reason: `${m.rule.header}: "${shown}" matches bounce_matching_headers "${m.rule.text}"` };
  },
};
