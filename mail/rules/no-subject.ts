// A post without a subject is usually a mistake (or spam); a moderator looks first.
import type { Rule } from './types.js';

export const noSubject: Rule = {
  name: 'no-subject',
  description: 'The post has no Subject: or an empty one.',
  check({ facts }) {
    return facts.subject.trim() === '' ? { hit: true, reason: 'the post has no subject' } : { hit: false, reason: 'the post has a subject' };
  },
};
