// A post whose To/Cc do not name the list (Bcc'd, or forwarded by a spammer's list harvest) waits for a moderator.
import { PatternError, storedAddressPattern } from '../patterns.js';
import type { Rule } from './types.js';

export const implicitDest: Rule = {
  name: 'implicit-dest',
  description: 'Neither the list address nor one of its acceptable_aliases is in To: or Cc:.',
  check({ facts, list }) {
    if (!list.settings.require_explicit_destination) return { hit: false, reason: 'require_explicit_destination is off' };
    const recipients = [...facts.to, ...facts.cc];
    if (recipients.includes(list.address)) return { hit: false, reason: `${list.address} is in To/Cc` };
    // A usable alias that matches wins; otherwise one that no longer compiles throws (a rule error: held, with the reason).
    let unusable: PatternError | null = null;
    for (const alias of list.settings.acceptable_aliases.map(storedAddressPattern)) {
      let found: string | undefined;
      try {
        found = recipients.find((r) => alias.test(r));
      } catch (err) {
        if (!(err instanceof PatternError)) throw err;
        unusable ??= err;
      }
      if (found) return { hit: false, reason: `${found} is an acceptable alias (${alias.text})` };
    }
    if (unusable) throw unusable;
    return { hit: true, reason: `${list.address} is not in To: or Cc: (nor an acceptable alias)` };
  },
};
