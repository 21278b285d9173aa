// Posts from nonmembers: the accept/hold/reject/discard_these_nonmembers lists (addresses, ^regex,
// @list meaning that list's members), in that order as in Mailman 3, then the list's nonmember_action.
import { storedAddressPattern } from '../patterns.js';
import type { ModerationAction } from '../settings.js';
import type { Rule } from './types.js';

const ORDER: ModerationAction[] = ['accept', 'hold', 'reject', 'discard'];

function matches(item: string, address: string, memberOf: readonly string[]): boolean {
  if (item.startsWith('@')) return memberOf.includes(item.slice(1).toLowerCase());
  // Items are tried in order; one that no longer compiles throws when reached (a rule error: held, with the reason).
  return storedAddressPattern(item).test(address);
}

export const nonmemberModeration: Rule = {
  name: 'nonmember-moderation',
  description: "The sender is not a member: *_these_nonmembers (address, ^regex, @list), else the list's nonmember_action.",
  check({ poster, list }) {
    if (poster.isMember) return { hit: false, reason: 'the sender is a member' };
    const address = poster.address ?? '';
    for (const action of ORDER) {
      const key = `${action}_these_nonmembers` as const;
      const item = address ? list.settings[key].find((i) => matches(i, address, poster.memberOf)) : undefined;
      if (item) {
        const why = item.startsWith('@') ? `is a member of ${item.slice(1)}` : `matches ${item}`;
        return { hit: true, action, reason: `the nonmember ${address} ${why} (${key})` };
      }
    }
    const action = list.settings.nonmember_action;
    return { hit: true, action, reason: `${poster.address ?? 'the sender'} is not a member of ${list.address} (nonmember_action: ${action})` };
  },
};
