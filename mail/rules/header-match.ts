// The list's header_matches rows, then the site's (spam-filter flags): the first matching row's action.
import { firstHeaderMatch, parseHeaderRule, type HeaderRule } from '../header-rules.js';
import type { Rule } from './types.js';

function rules(texts: readonly string[]): HeaderRule[] {
  const out: HeaderRule[] = [];
  for (const t of texts) {
    try {
      out.push(parseHeaderRule(t, true));
    } catch {
      // Validated when set; a row that no longer parses is skipped rather than stopping mail.
    }
  }
  return out;
}

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
