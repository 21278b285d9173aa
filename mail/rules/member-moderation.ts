// A member's own moderation setting, or the list's default for members (Mailman 3: defer by default).
import type { Rule } from './types.js';

export const memberModeration: Rule = {
  name: 'member-moderation',
  description: "The sender is a member whose own moderation, or the list's default_member_action, decides.",
  check({ poster, list }) {
    if (!poster.isMember) return { hit: false, reason: 'the sender is not a member' };
    if (poster.moderation && poster.moderation !== 'default') {
      return { hit: true, action: poster.moderation, reason: `the member ${poster.address} is set to ${poster.moderation}` };
    }
    const action = list.settings.default_member_action;
    return action === 'defer'
      ? { hit: false, reason: 'the sender is a member with the default action (defer: the rest of the chain decides)' }
      : { hit: true, action, reason: `the list's default member action is ${action}` };
  },
};
