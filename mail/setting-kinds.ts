// The kinds of setting a table of settings is made of (scalar, list of items, secret), and the one way every
// table is edited: `key=value`, `key+=item`, `key-=item`, `key=` to clear. Shared by list and site settings.
import { hashPassword, isPasswordHash } from './password.js';

/** A setting value that cannot be used; the message is one line for the operator. */
export class SettingError extends Error {
  override name = 'SettingError';
}

export interface SettingSpec<V> {
  key: string;
  default: V;
  description: string;
  kind: 'scalar' | 'list' | 'secret';
  /** The operator's text for a scalar or secret → the value to store. Throws SettingError. */
  parse(text: string): V;
  /** For lists: one item as the operator wrote it → its canonical text. Throws (SettingError or PatternError). */
  item?(text: string): string;
  /**
   * For lists: one stored item → the text to keep. Patterns keep items that no longer compile, so the rule
   * that uses them reports it (the post is held with the reason) instead of the item vanishing unseen.
   */
  loadItem?(text: string): string;
  /** A stored value → the value to use; throws on junk, and the caller falls back to the default. */
  load(stored: unknown): V;
  /** The value for people (secrets never shown). */
  show(value: V): string;
}

export type SpecTable<T> = { [K in keyof T]: SettingSpec<T[K]> };

/** A scalar read from text; a stored value is re-validated from its text form. */
export function scalar<V>(key: string, def: V, description: string, parse: (text: string) => V): SettingSpec<V> {
  return {
    key,
    default: def,
    description,
    kind: 'scalar',
    parse,
    load: (stored) => parse(String(stored)),
    show: (value) => (typeof value === 'string' ? (value === '' ? '""' : value) : String(value)),
  };
}

/**
 * A list of validated items, stored as a JSON array of their canonical texts. `loadItem` (default: `item`)
 * reads a stored item; it may be more lenient than `item`, which validates what an operator sets.
 */
export function list(
  key: string,
  description: string,
  item: (text: string) => string,
  def: string[] = [],
  loadItem: (text: string) => string = item,
): SettingSpec<string[]> {
  return {
    key,
    default: def,
    description,
    kind: 'list',
    parse: () => {
      throw new SettingError(`is a list: add an item with ${key}+=ITEM, remove one with ${key}-=ITEM, clear it with ${key}=`);
    },
    item,
    loadItem,
    load: (stored) => {
      const value: unknown = typeof stored === 'string' ? JSON.parse(stored) : stored;
      if (!Array.isArray(value)) throw new SettingError('not a list');
      const items: string[] = [];
      for (const entry of value) {
        // Junk items are dropped one by one: one bad row must not switch off the list's other rules.
        try {
          if (typeof entry === 'string') items.push(loadItem(entry));
        } catch {
          /* skipped */
        }
      }
      return items;
    },
    show: (value) => (value.length === 0 ? '(none)' : value.join(', ')),
  };
}

/** A password given in clear and stored as a salted scrypt hash; shown only as "(set)". */
export function secret(key: string, description: string): SettingSpec<string> {
  return {
    key,
    default: '',
    description,
    kind: 'secret',
    parse: (text) => {
      if (text === '') return '';
      if (/[\r\n]/.test(text) || text.length > 200) throw new SettingError('must be one line of at most 200 characters');
      if (text.trim() !== text) throw new SettingError('must not start or end with spaces (they could not be typed in an Approved: line)');
      return hashPassword(text);
    },
    load: (stored) => {
      if (stored === '' || (typeof stored === 'string' && isPasswordHash(stored))) return stored;
      throw new SettingError('not a password hash');
    },
    show: (value) => (value ? '(set)' : '(not set)'),
  };
}

function safely(f: () => string): string | null {
  try {
    return f();
  } catch {
    return null;
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error && (err.name === 'SettingError' || err.name === 'PatternError' || err.name === 'AddressError')) return err.message;
  throw err;
}

/**
 * Applies one assignment to `current` and returns the change. `key=value` sets a scalar; for lists
 * `key+=item` adds, `key-=item` removes and `key=` clears. Throws SettingError naming the key and the reason.
 */
export function applyAssignment<T extends object>(table: SpecTable<T>, current: T, assignment: string): Partial<T> {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new SettingError(`"${assignment}" is not key=value`);
  let key = assignment.slice(0, eq).trim();
  let op: '=' | '+=' | '-=' = '=';
  if (key.endsWith('+') || key.endsWith('-')) {
    op = `${key.slice(-1)}=` as '+=' | '-=';
    key = key.slice(0, -1).trim();
  }
  const value = assignment.slice(eq + 1);
  if (!Object.prototype.hasOwnProperty.call(table, key)) {
    throw new SettingError(`unknown setting "${key}" (known: ${Object.keys(table).join(', ')})`);
  }
  const k = key as keyof T;
  const spec = table[k] as unknown as SettingSpec<unknown>;
  // A secret is never echoed back, not even in an error.
  const shown = spec.kind === 'secret' ? `${key}${op}…` : `${key}${op}${value}`;
  if (spec.kind !== 'list') {
    if (op !== '=') throw new SettingError(`${key} is not a list: set it with ${key}=VALUE`);
    try {
      return { [k]: spec.parse(value) } as Partial<T>;
    } catch (err) {
      throw new SettingError(`${shown}: ${messageOf(err)}`);
    }
  }
  const items = (current[k] as unknown as string[]) ?? [];
  if (op === '=') {
    if (value.trim() !== '') {
      throw new SettingError(`${shown}: ${key} is a list: add an item with ${key}+=ITEM, remove one with ${key}-=ITEM, clear it with ${key}=`);
    }
    return { [k]: [] } as unknown as Partial<T>;
  }
  let item: string;
  try {
    item = (spec.item as (text: string) => string)(value);
  } catch (err) {
    // A stored item that no longer validates (a pattern RE2 refuses) can still be removed by its text.
    const stored = op === '-=' && spec.loadItem ? safely(() => (spec.loadItem as (text: string) => string)(value)) : null;
    if (stored === null || !items.includes(stored)) throw new SettingError(`${shown}: ${messageOf(err)}`);
    item = stored;
  }
  if (op === '+=') return { [k]: items.includes(item) ? items : [...items, item] } as unknown as Partial<T>;
  if (!items.includes(item)) {
    throw new SettingError(`${shown}: "${item}" is not in ${key} (it has: ${items.length ? items.join(', ') : 'nothing'})`);
  }
  return { [k]: items.filter((i) => i !== item) } as unknown as Partial<T>;
}

/** Applies assignments in order, each seeing the ones before; every problem is collected, not just the first. */
export function applyAssignments<T extends object>(table: SpecTable<T>, current: T, assignments: string[]): { changes: Partial<T>; problems: string[] } {
  const changes: Partial<T> = {};
  const problems: string[] = [];
  let state = current;
  for (const a of assignments) {
    try {
      const change = applyAssignment(table, state, a);
      Object.assign(changes, change);
      state = { ...state, ...change };
    } catch (err) {
      if (!(err instanceof SettingError)) throw err;
      problems.push(err.message);
    }
  }
  return { changes, problems };
}

/** Merges stored values over the defaults, ignoring (never trusting) anything that fails validation. */
export function resolveWith<T extends object>(table: SpecTable<T>, stored: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(table)) {
    const spec = table[key as keyof T] as unknown as SettingSpec<unknown>;
    out[key] = spec.default;
    if (!Object.prototype.hasOwnProperty.call(stored, key)) continue;
    try {
      out[key] = spec.load(stored[key]);
    } catch {
      // A stored value that no longer validates falls back to the default rather than stopping mail.
    }
  }
  return out as T;
}

/**
 * Stored list items that would be refused if set today (a pattern RE2 cannot run): one line each for the
 * operator, saying why and how to remove it. The rules hold the posts such an item would decide.
 */
export function unusableItems<T extends object>(table: SpecTable<T>, values: T): string[] {
  const out: string[] = [];
  for (const key of Object.keys(table)) {
    const spec = table[key as keyof T] as unknown as SettingSpec<unknown>;
    const items = (values as Record<string, unknown>)[key];
    if (spec.kind !== 'list' || !spec.item || !Array.isArray(items)) continue;
    for (const item of items) {
      try {
        spec.item(String(item));
      } catch (err) {
        out.push(`${key} item "${String(item)}" cannot be used, so posts it applies to are held: ${messageOf(err)} (remove it with ${key}-=ITEM)`);
      }
    }
  }
  return out;
}

export function isDefault(spec: SettingSpec<unknown>, value: unknown): boolean {
  return JSON.stringify(value) === JSON.stringify(spec.default);
}

/** Values for scripts (JSON): secrets as "(set)" or "". */
export function redacted<T extends object>(table: SpecTable<T>, values: Partial<T>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const spec = (table as Record<string, SettingSpec<unknown> | undefined>)[key];
    out[key] = spec?.kind === 'secret' ? (value ? '(set)' : '') : value;
  }
  return out;
}
