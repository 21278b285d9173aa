// Banned senders (per list or site-wide, an address or a ^regex) are dropped without a word.
import { firstMatch, PatternError, type AddressPattern } from '../patterns.js';
import type { Rule } from './types.js';

export const bannedAddress: Rule = {
  name: 'banned-address',
  description: 'From:, Sender: or the envelope sender is banned from this list or the whole site.',
  check({ facts, envelopeFrom, bans }) {
    const senders = [...new Set([facts.from, facts.sender, envelopeFrom].filter((a): a is string => !!a).map((a) => a.toLowerCase()))];
    // A stored ban that no longer compiles must not hide one that matches; if none matches, the answer is
    // unknown: it is thrown, and the chain holds the post with the reason (never a ban skipped in silence).
    let unusable: PatternError | null = null;
    const match = (patterns: AddressPattern[], address: string): AddressPattern | null => {
      try {
        return firstMatch(patterns, address);
      } catch (err) {
        if (!(err instanceof PatternError)) throw err;
        unusable ??= err;
        return null;
      }
    };
    for (const address of senders) {
      const own = match(bans.list, address);
      if (own) return { hit: true, reason: `${address} is banned from this list (${own.text})` };
      const site = match(bans.site, address);
      if (site) return { hit: true, reason: `${address} is banned site-wide (${site.text})` };
    }
    if (unusable) throw unusable;
    return { hit: false, reason: `no ban matches ${senders.join(', ') || 'the sender'}` };
  },
};
