// Posts addressed to many people at once (cross-posted spam) wait for a moderator.
import type { Rule } from './types.js';

export const maxRecipients: Rule = {
  name: 'max-recipients',
  description: 'To: and Cc: together name max_num_recipients addresses or more.',
  check({ facts, list }) {
    const limit = list.settings.max_num_recipients;
    const n = new Set([...facts.to, ...facts.cc]).size;
    if (limit === 0) return { hit: false, reason: 'the list has no recipient limit' };
    return n >= limit
      ? { hit: true, reason: `To/Cc name ${n} addresses; the list holds posts with ${limit} or more` }
      : { hit: false, reason: `${n} addresses in To/Cc, below the limit of ${limit}` };
  },
};
