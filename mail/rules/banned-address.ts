// Banned senders (per list or site-wide, an address or a ^regex) are dropped without a word.
import { firstMatch } from '../patterns.js';
import type { Rule } from './types.js';

export const bannedAddress: Rule = {
  name: 'banned-address',
  description: 'From:, Sender: or the envelope sender is banned from this list or the whole site.',
  check({ facts, envelopeFrom, bans }) {
    const senders = [...new Set([facts.from, facts.sender, envelopeFrom].filter((a): a is string => !!a).map((a) => a.toLowerCase()))];
    for (const address of senders) {
      const own = firstMatch(bans.list, address);
      if (own) return { hit: true, reason: `${address} is banned from this list (${own.text})` };
      const site = firstMatch(bans.site, address);
      if (site) return { hit: true, reason: `${address} is banned site-wide (${site.text})` };
    }
    return { hit: false, reason: `no ban matches ${senders.join(', ') || 'the sender'}` };
  },
};
