// A post that has already been through this list is a loop.
import type { Rule } from './types.js';

export const loop: Rule = {
  name: 'loop',
  description: "The message carries this list's own loop marker (X-BeenThere).",
  check({ facts, list }) {
    return facts.beenThere.includes(list.address)
      ? { hit: true, reason: `X-BeenThere: ${list.address} shows the message already went through this list` }
      : { hit: false, reason: 'no loop marker of this list' };
  },
};
