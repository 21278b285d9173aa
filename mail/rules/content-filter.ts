// Content filtering at classification: with filter_action reject or hold, a post that filtering would change
// is rejected or held here (visible in its status); a post filtering would leave empty is never delivered.
import { filterContent } from '../decoration/content-filter.js';
import type { Rule } from './types.js';

export const contentFilter: Rule = {
  name: 'content-filter',
  description: 'With filter_content: filtering would take parts out (filter_action reject or hold) or leave nothing (discard).',
  check({ raw, list }) {
    const s = list.settings;
    if (!s.filter_content) return { hit: false, reason: 'the list does not filter content' };
    if (!raw) return { hit: false, reason: 'no message to filter' };
    const result = filterContent(raw, s);
    if (!result.raw) {
      const action = s.filter_action === 'discard' ? 'discard' : s.filter_action;
      return { hit: true, action, reason: `content filtering leaves nothing of the post (${result.removed.join('; ')})` };
    }
    if (result.removed.length && s.filter_action !== 'discard') {
      return { hit: true, action: s.filter_action, reason: `content filtering would remove ${result.removed.join('; ')}` };
    }
    const note = result.removed.length ? `filtering removes ${result.removed.join('; ')} at delivery` : 'nothing to filter';
    return { hit: false, reason: note };
  },
};
