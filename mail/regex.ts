// The one regular-expression engine for operator patterns (bans, nonmember lists, header_matches,
// bounce_matching_headers, acceptable_aliases, `--from` filters, the subject prefix): RE2 (re2js), which
// matches in time linear in the input, so no pattern and no hostile header can stall a worker the way a
// backtracking engine (JavaScript's RegExp) does on `(x+x+)+y`. Compiled once per source and flags.
import { LRUCache } from 'lru-cache';
import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';

/** A pattern an operator gave that cannot be used; refused when set, a rule error when a stored one is met. */
export class PatternError extends Error {
  override name = 'PatternError';
}

export interface Regex {
  /** As given (without the flags). */
  source: string;
  /** Found anywhere in `text` (as JavaScript's RegExp.test, without the g flag's state). */
  test(text: string): boolean;
  /** Every match replaced by `replacement`, taken literally. */
  replaceAll(text: string, replacement: string): string;
}

export interface RegexOptions {
  ignoreCase?: boolean;
}

/** What RE2 refuses that backtracking engines accept, said so an operator knows what to change. */
function explain(err: RE2JSSyntaxException): string {
  const code = err.error ?? '';
  const at = err.input ?? '';
  if (code === 'invalid escape sequence' && /^\\[1-9k]/.test(at)) {
    return `backreferences (${at === '\\k' ? '\\k<name>' : at}) are not supported: patterns are RE2 syntax, matched in linear time`;
  }
  if (/^\(\?[=!]/.test(at)) return `lookahead (${at.slice(0, 3)}…) is not supported: patterns are RE2 syntax, matched in linear time`;
  if (code === 'invalid named capture' && /^\(\?<[=!]/.test(at)) {
    return `lookbehind (${at.slice(0, 4)}…) is not supported: patterns are RE2 syntax, matched in linear time`;
  }
  if (code === 'invalid escape sequence' && /^\\u/.test(at)) return 'write a code point as \\x{00e9}, not \\u00e9 (RE2 syntax)';
  if (code === 'invalid repeat count') return `invalid repeat count ${at} (at most 1000)`;
  if (code === 'invalid nested repetition operator') return `possessive or doubled repetition (${at}) is not supported (RE2 syntax)`;
  return at ? `${code}: ${at}` : code || err.message;
}

type Compiled = { ok: true; re: RE2JS } | { ok: false; reason: string };

/**
 * Bounded: patterns come from settings and bans, a few per list, but a site with thousands of lists must
 * not keep every one it ever saw. A refusal is cached too, so a stored pattern that no longer compiles
 * costs one parse, not one per post.
 */
const cache = new LRUCache<string, Compiled>({ max: 5000 });

function compileUncached(source: string, ignoreCase: boolean): Compiled {
  try {
    return { ok: true, re: RE2JS.compile(source, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0) };
  } catch (err) {
    if (err instanceof RE2JSSyntaxException) return { ok: false, reason: explain(err) };
    if (err instanceof RE2JSException) return { ok: false, reason: err.message.replace(/^error parsing regexp: /, '') };
    throw err;
  }
}

/** Compiles `source` (RE2 syntax) or throws PatternError naming it and saying why. */
export function compileRegex(source: string, options: RegexOptions = {}): Regex {
  const ignoreCase = options.ignoreCase ?? false;
  const key = `${ignoreCase ? 'i' : '-'}/${source}`;
  let compiled = cache.get(key);
  if (!compiled) {
    compiled = compileUncached(source, ignoreCase);
    cache.set(key, compiled);
  }
  if (!compiled.ok) throw new PatternError(`"${source}" is not a valid regular expression: ${compiled.reason}`);
  const re = compiled.re;
  return {
    source,
    test: (text) => re.test(text),
    replaceAll: (text, replacement) => re.matcher(text).replaceAll(RE2JS.quoteReplacement(replacement)),
  };
}

/** `text` as a pattern that matches it literally. */
export function quoteRegex(text: string): string {
  return RE2JS.quote(text);
}

/** For tests: how many compiled patterns are kept. */
export function cachedRegexCount(): number {
  return cache.size;
}
