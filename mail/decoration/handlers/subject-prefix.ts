// The subject prefix ("[dev] ", optionally numbered with %d), once per subject however many replies deep.
import libmime from 'libmime';
import { compileRegex, quoteRegex, type Regex } from '../../regex.js';
import { editHeaders, type Handler } from '../types.js';

function decoded(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

/**
 * The prefix as a pattern: the template's text, with %d standing for any post number. On RE2, like every
 * pattern built from a setting: `\s*[dev]\s*` on a backtracking engine is quadratic in a run of spaces,
 * and a subject is whatever the poster sent (40,000 spaces took JavaScript's RegExp 5 s).
 */
function prefixPattern(template: string): Regex {
  const core = template.trim().split('%d').map(quoteRegex).join('\\d+');
  return compileRegex(`\\s*${core}\\s*`, { ignoreCase: true });
}

export function prefixedSubject(subject: string, template: string, seq: number, displayName: string, list: string): string {
  const rendered = template.replace(/\{display_name\}/g, displayName).replace(/\{list\}/g, list);
  const prefix = rendered.replace(/%d/g, String(seq));
  // "Re: [dev] Re: [dev] x" → "[dev] Re: x": earlier prefixes go, and one reply marker is enough.
  let rest = prefixPattern(rendered).replaceAll(subject.replace(/[\r\n]+[ \t]*/g, ' '), ' ').replace(/\s{2,}/g, ' ').trim();
  rest = rest.replace(/^((re|aw|sv|antw)\s*(\[\d+\])?:\s*)+/i, (m) => (m ? 'Re: ' : ''));
  return `${prefix}${rest || '(no subject)'}`;
}

export const subjectPrefix: Handler = {
  name: 'subject-prefix',
  description: 'Puts subject_prefix (%d: the post number) in front of the Subject, once, RFC 2047-encoded when not ASCII.',
  apply: (raw, ctx) => {
    const template = ctx.settings.subject_prefix;
    if (!template) return raw;
    return editHeaders(raw, (h) => {
      const current = h.hasHeader('subject') ? decoded(h.getFirst('subject')) : '';
      const next = prefixedSubject(current, template, ctx.seq, ctx.displayName, ctx.list);
      if (next === current) return;
      // Non-ASCII goes out as encoded words (libmime folds them); ASCII as it is, folded by Headers.
      const value = /^[\x20-\x7e]*$/.test(next) ? next : libmime.encodeWords(next, 'Q', 52);
      if (h.hasHeader('subject')) h.update('Subject', value);
      else h.add('Subject', value);
    });
  },
};
