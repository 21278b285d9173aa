// The list's emergency brake: every post waits for a moderator.
import type { Rule } from './types.js';

export const emergency: Rule = {
  name: 'emergency',
  description: 'The list is in emergency moderation (setting emergency).',
  check({ list }) {
    return list.settings.emergency
      ? { hit: true, reason: 'the list is in emergency moderation: every post is held' }
      : { hit: false, reason: 'the list is not in emergency moderation' };
  },
};
