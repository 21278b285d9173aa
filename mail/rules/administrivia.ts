// A "post" that is really a request for the -request address (subscribe, unsubscribe, help…) waits for a
// moderator instead of going to every member.
import type { Rule } from './types.js';

/** Command words and how many arguments each takes, as in Mailman 3 (who/set/password left out: too common in prose). */
const COMMANDS: Record<string, [number, number]> = {
  subscribe: [0, 3],
  unsubscribe: [0, 1],
  join: [0, 3],
  leave: [0, 1],
  signoff: [0, 1],
  remove: [0, 0],
  help: [0, 0],
  confirm: [1, 1],
};

/** Only posts this short have their body lines read: a real request is a line or two, a discussion is longer. */
const SHORT_POST_LINES = 10;
const LINES_CHECKED = 5;

function command(line: string): string | null {
  const words = line.trim().split(/\s+/);
  const word = (words[0] ?? '').toLowerCase().replace(/[.!:]+$/, '');
  const range = Object.prototype.hasOwnProperty.call(COMMANDS, word) ? COMMANDS[word] : undefined;
  if (!range) return null;
  const args = words.length - 1;
  return args >= range[0] && args <= range[1] ? word : null;
}

function quote(text: string): string {
  return text.length > 60 ? `"${text.slice(0, 59)}…"` : `"${text}"`;
}

export const administrivia: Rule = {
  name: 'administrivia',
  description: 'The subject or the first lines of a short post are a subscribe/unsubscribe/help command.',
  check({ facts, list }) {
    if (!list.settings.administrivia) return { hit: false, reason: 'administrivia checks are off for this list' };
    const bySubject = command(facts.subject);
    if (bySubject) return { hit: true, reason: `the subject ${quote(facts.subject)} is a ${bySubject} command (send those to the -request address)` };
    if (facts.textLineCount <= SHORT_POST_LINES) {
      for (const line of facts.textLines.slice(0, LINES_CHECKED)) {
        if (line.startsWith('>')) continue;
        const c = command(line);
        if (c) return { hit: true, reason: `the line ${quote(line)} is a ${c} command (send those to the -request address)` };
      }
    }
    return { hit: false, reason: 'no subscribe/unsubscribe/help command in the subject or first lines' };
  },
};
