// Header rules as operators write them: `Header-Name: pattern -> action` (header_matches, as in Mailman 3)
// and `Header-Name: pattern` (bounce_matching_headers). Validated when set; compiled once per text.
import { PatternError } from './patterns.js';

export type HeaderAction = 'accept' | 'hold' | 'reject' | 'discard' | 'defer';
const ACTIONS: HeaderAction[] = ['accept', 'hold', 'reject', 'discard', 'defer'];

export interface HeaderRule {
  /** Canonical text, as stored: `Name: pattern -> action` (or `Name: pattern` without an action). */
  text: string;
  /** Lower-case header name. */
  header: string;
  pattern: string;
  action: HeaderAction;
  test(value: string): boolean;
}

const MAX_PATTERN_LENGTH = 500;
const FIELD_NAME = /^[!-9;-~]{1,76}$/;

function compile(pattern: string): RegExp {
  if (pattern === '') throw new PatternError('the pattern is empty');
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PatternError(`a pattern is at most ${MAX_PATTERN_LENGTH} characters`);
  try {
    // Searched anywhere in the value, ignoring case, as Mailman does (Python's re.search with IGNORECASE).
    return new RegExp(pattern, 'i');
  } catch (err) {
    throw new PatternError(`"${pattern}" is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

const cache = new Map<string, HeaderRule>();

/** Parses one rule; `withAction` false for bounce_matching_headers. Throws PatternError with the reason. */
export function parseHeaderRule(input: string, withAction = true): HeaderRule {
  const key = `${withAction ? 'a' : 'n'}${input}`;
  const hit = cache.get(key);
  if (hit) return hit;
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
  const re = compile(rest);
  const rule: HeaderRule = {
    text: withAction ? `${header}: ${rest} -> ${action}` : `${header}: ${rest}`,
    header: header.toLowerCase(),
    pattern: rest,
    action,
    test: (value) => re.test(value),
  };
  if (cache.size > 2000) cache.clear();
  cache.set(key, rule);
  return rule;
}

/** The first rule that matches one of the message's headers, with the header value it matched. */
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
    for (const value of byName.get(rule.header) ?? []) if (rule.test(value)) return { rule, value };
  }
  return null;
}
