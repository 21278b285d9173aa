// A post whose To/Cc do not name the list (Bcc'd, or forwarded by a spammer's list harvest) waits for a moderator.
import { parseAddressPattern } from '../patterns.js';
import type { Rule } from './types.js';

export const implicitDest: Rule = {
  name: 'implicit-dest',
  description: 'Neither the list address nor one of its acceptable_aliases is in To: or Cc:.',
  check({ facts, list }) {
    if (!list.settings.require_explicit_destination) return { hit: false, reason: 'require_explicit_destination is off' };
    const recipients = [...facts.to, ...facts.cc];
    if (recipients.includes(list.address)) return { hit: false, reason: `${list.address} is in To/Cc` };
    for (const alias of list.settings.acceptable_aliases) {
      let found: string | undefined;
      try {
        const pattern = parseAddressPattern(alias);
        found = recipients.find((r) => pattern.test(r));
      } catch {
        continue;
      }
      if (found) return { hit: false, reason: `${found} is an acceptable alias (${alias})` };
    }
    return { hit: true, reason: `${list.address} is not in To: or Cc: (nor an acceptable alias)` };
  },
};
