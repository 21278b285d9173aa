// Posts larger than the list allows wait for a moderator.
import type { Rule } from './types.js';

export const maxSize: Rule = {
  name: 'max-size',
  description: 'The message is larger than max_message_size_kb.',
  check({ facts, list }) {
    const limit = list.settings.max_message_size_kb;
    const kb = Math.ceil(facts.size / 1024);
    if (limit === 0) return { hit: false, reason: 'the list has no size limit' };
    return kb > limit
      ? { hit: true, reason: `the message is ${kb} KiB, over the list's limit of ${limit} KiB` }
      : { hit: false, reason: `${kb} KiB is within the ${limit} KiB limit` };
  },
};
