// Posts from addresses that are not members get the list's nonmember action.
import type { Rule } from './types.js';

export const nonmemberModeration: Rule = {
  name: 'nonmember-moderation',
  description: "The sender is not a member of the list; the list's nonmember_action applies.",
  check({ poster, list }) {
    if (poster.isMember) return { hit: false, reason: 'the sender is a member' };
    const action = list.settings.nonmember_action;
    return { hit: true, action, reason: `${poster.address ?? 'the sender'} is not a member of ${list.address} (nonmember_action: ${action})` };
  },
};
