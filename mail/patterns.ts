// Address patterns, as list owners write them in bans, nonmember lists and `--from` filters:
// an exact address, or a regular expression when the pattern starts with '^' (as in Mailman).

/** A pattern an operator gave that cannot be used; refused when set, never at run time. */
export class PatternError extends Error {
  override name = 'PatternError';
}

export interface AddressPattern {
  /** As the operator wrote it (trimmed). */
  text: string;
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
    let re: RegExp;
    try {
      re = new RegExp(text, 'iu');
    } catch (err) {
      throw new PatternError(`"${text}" is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
    }
    return { text, test: (address) => re.test(address) };
  }
  if (/\s/.test(text) || !text.includes('@')) {
    throw new PatternError(`"${text}" is neither an address nor a regular expression (start those with ^)`);
  }
  const key = text.toLowerCase();
  return { text, test: (address) => address.toLowerCase() === key };
}

/** The first of `patterns` that matches `address`, or null. */
export function firstMatch(patterns: readonly AddressPattern[], address: string | null): AddressPattern | null {
  if (!address) return null;
  for (const p of patterns) if (p.test(address)) return p;
  return null;
}
