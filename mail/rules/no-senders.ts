// A post must name who sent it.
import type { Rule } from './types.js';

export const noSenders: Rule = {
  name: 'no-senders',
  description: 'The message names no sender in From: or Sender:.',
  check({ poster }) {
    return poster.address
      ? { hit: false, reason: `sender is ${poster.address}` }
      : { hit: true, reason: 'the message has no usable From: or Sender: address' };
  },
};
