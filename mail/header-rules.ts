// Header rules as operators write them: `Header-Name: pattern -> action` (header_matches, as in Mailman 3)
// and `Header-Name: pattern` (bounce_matching_headers). Patterns are RE2 (regex.ts), validated when set.
import { compileRegex, PatternError, type Regex } from './regex.js';

export type HeaderAction = 'accept' | 'hold' | 'reject' | 'discard' | 'defer';
const ACTIONS: HeaderAction[] = ['accept', 'hold', 'reject', 'discard', 'defer'];

export interface HeaderRule {
  /** Canonical text, as stored: `Name: pattern -> action` (or `Name: pattern` without an action). */
  text: string;
  /** Lower-case header name ('' for a stored row too broken to name one). */
  header: string;
  pattern: string;
  action: HeaderAction;
  /** Throws PatternError for a stored rule that cannot be used (see storedHeaderRule). */
  test(value: string): boolean;
  /** Why a stored rule cannot be used; absent for a usable one. */
  unusable?: string;
}

const MAX_PATTERN_LENGTH = 500;
const FIELD_NAME = /^[!-9;-~]{1,76}$/;

function compile(pattern: string): Regex {
  if (pattern === '') throw new PatternError('the pattern is empty');
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PatternError(`a pattern is at most ${MAX_PATTERN_LENGTH} characters`);
  // Searched anywhere in the value, ignoring case, as Mailman does (Python's re.search with IGNORECASE).
  return compileRegex(pattern, { ignoreCase: true });
}

type Shape = Omit<HeaderRule, 'test' | 'unusable'>;

/** The rule's parts, without compiling its pattern. */
function shapeOf(input: string, withAction: boolean): Shape {
  const text = input.trim();
  if (/[\r\n]/.test(text)) throw new PatternError('a header rule is one line');
  const colon = text.indexOf(':');
  if (colon <= 0) throw new PatternError(`"${text}" is not "Header-Name: pattern${withAction ? ' -> action' : ''}"`);
  const header = text.slice(0, colon).trim();
  if (!FIELD_NAME.test(header)) throw new PatternError(`"${header}" is not a header name`);
  let rest = text.slice(colon + 1).trim();
  let action: HeaderAction = 'defer';
  const arrow = /\s*->\s*([A-Za-z]+)$/.exec(rest);
  if (arrow) {
    if (!withAction) throw new PatternError('these rules take no action (they always hold)');
    const named = (arrow[1] as string).toLowerCase() as HeaderAction;
    if (!ACTIONS.includes(named)) throw new PatternError(`"${arrow[1]}" is not an action (one of ${ACTIONS.join(', ')})`);
    action = named;
    rest = rest.slice(0, arrow.index).trim();
  }
  return {
    text: withAction ? `${header}: ${rest} -> ${action}` : `${header}: ${rest}`,
    header: header.toLowerCase(),
    pattern: rest,
    action,
  };
}

/** Parses one rule; `withAction` false for bounce_matching_headers. Throws PatternError with the reason. */
export function parseHeaderRule(input: string, withAction = true): HeaderRule {
  const shape = shapeOf(input, withAction);
  const re = compile(shape.pattern);
  return { ...shape, test: (value) => re.test(value) };
}

/** A stored row's canonical text, without compiling its pattern: what loading settings keeps. */
export function storedHeaderRuleText(input: string, withAction = true): string {
  return shapeOf(input, withAction).text;
}

/**
 * A rule as stored, which may predate the current rules (a JavaScript-only pattern, a hand-edited row).
 * Never throws here; firstHeaderMatch throws its PatternError when it would have to use it.
 */
export function storedHeaderRule(input: string, withAction = true): HeaderRule {
  try {
    return parseHeaderRule(input, withAction);
  } catch (err) {
    if (!(err instanceof PatternError)) throw err;
    let shape: Shape;
    try {
      shape = shapeOf(input, withAction);
    } catch {
      shape = { text: input.trim(), header: '', pattern: '', action: 'hold' };
    }
    const unusable = `the stored rule "${shape.text}" cannot be used: ${err.message}`;
    return {
      ...shape,
      unusable,
      test: () => {
        throw new PatternError(unusable);
      },
    };
  }
}

/**
 * The first rule that matches one of the message's headers, with the header value it matched. Throws the
 * PatternError of a stored rule that cannot be used when it is reached and its header is present.
 */
export function firstHeaderMatch(
  rules: readonly HeaderRule[],
  headers: readonly { name: string; value: string }[],
): { rule: HeaderRule; value: string } | null {
  if (rules.length === 0) return null;
  const wanted = new Set(rules.map((r) => r.header));
  const byName = new Map<string, string[]>();
  for (const h of headers) {
    if (!wanted.has(h.name)) continue;
    const list = byName.get(h.name);
    if (list) list.push(h.value);
    else byName.set(h.name, [h.value]);
  }
  for (const rule of rules) {
    // Rows are tried in order, so one that cannot be used decides nothing only when it is never reached or
    // its header is absent (it could not have matched); otherwise the answer is unknown and this throws.
    if (rule.unusable && rule.header === '') throw new PatternError(rule.unusable);
    for (const value of byName.get(rule.header) ?? []) if (rule.test(value)) return { rule, value };
  }
  return null;
}
