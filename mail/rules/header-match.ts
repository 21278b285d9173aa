// The list's header_matches rows, then the site's (spam-filter flags): the first matching row's action.
import { firstHeaderMatch, storedHeaderRule } from '../header-rules.js';
import type { Rule } from './types.js';

// Validated when set. A stored row that no longer compiles (RE2 refuses it) throws when it is reached with
// its header present: the chain counts that as a rule error and holds the post with the reason.
const rules = (texts: readonly string[]) => texts.map((t) => storedHeaderRule(t, true));

export const headerMatch: Rule = {
  name: 'header-match',
  description: 'A header matches a row of the list\'s header_matches, then of the site\'s ("Header: regex -> action").',
  check({ facts, list, site }) {
    for (const [where, texts] of [['list', list.settings.header_matches], ['site', site.header_matches]] as const) {
      const m = firstHeaderMatch(rules(texts), facts.headers);
      if (m) {
        const shown = m.value.length > 80 ? `${m.value.slice(0, 79)}…` : m.value;
        return { hit: true, action: m.rule.action, reason: `${m.rule.header}: "${shown}" matches ${where} header_matches "${m.rule.text}"` };
      }
    }
    return { hit: false, reason: 'no header_matches row matches' };
  },
};
