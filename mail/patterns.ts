// Address patterns, as list owners write them in bans, nonmember lists and `--from` filters:
// an exact address, or a regular expression (RE2 syntax, see regex.ts) when the pattern starts with '^' (as in Mailman).
import { compileRegex, PatternError } from './regex.js';

export { PatternError };

export interface AddressPattern {
  /** As the operator wrote it (trimmed). */
  text: string;
  /** Throws PatternError for a stored pattern that cannot be used (see storedAddressPattern). */
  test(address: string): boolean;
}

/** Longer patterns are refused: a regular expression is run on every post from every sender. */
const MAX_PATTERN_LENGTH = 500;

/**
 * Parses one pattern. '^…' is a case-insensitive regular expression over the whole address; anything
 * else must be one address and matches it exactly, ignoring case. Throws PatternError with the reason.
 */
export function parseAddressPattern(input: string): AddressPattern {
  const text = input.trim();
  if (text === '') throw new PatternError('empty pattern');
  if (text.length > MAX_PATTERN_LENGTH) throw new PatternError(`a pattern is at most ${MAX_PATTERN_LENGTH} characters`);
  if (text.startsWith('^')) {
    const re = compileRegex(text, { ignoreCase: true });
    return { text, test: (address) => re.test(address) };
  }
  if (/\s/.test(text) || !text.includes('@')) {
    throw new PatternError(`"${text}" is neither an address nor a regular expression (start those with ^)`);
  }
  const key = text.toLowerCase();
  return { text, test: (address) => address.toLowerCase() === key };
}

/**
 * A pattern as stored (a ban row, a settings item), which may predate the current rules (a JavaScript-only
 * regular expression, a hand-edited row). Never throws here: one that cannot be used throws PatternError
 * from `test`, so the rule that meets it fails and the post is held with the reason, instead of the
 * pattern being skipped in silence (a ban that quietly stops banning).
 */
export function storedAddressPattern(input: string): AddressPattern {
  try {
    return parseAddressPattern(input);
  } catch (err) {
    if (!(err instanceof PatternError)) throw err;
    const text = input.trim();
    const why = err.message.startsWith(`"${text}" `) ? `the stored pattern ${err.message}` : `the stored pattern "${text}": ${err.message}`;
    return {
      text,
      test: () => {
        throw new PatternError(why);
      },
    };
  }
}

/**
 * The first of `patterns` that matches `address`, or null. A pattern that cannot be used does not hide a
 * usable one that matches; when none matches, its PatternError is thrown (the answer is not known).
 */
export function firstMatch(patterns: readonly AddressPattern[], address: string | null): AddressPattern | null {
  if (!address) return null;
  let unusable: unknown = null;
  for (const p of patterns) {
    try {
      if (p.test(address)) return p;
    } catch (err) {
      if (!(err instanceof PatternError)) throw err;
      unusable ??= err;
    }
  }
  if (unusable) throw unusable;
  return null;
}
