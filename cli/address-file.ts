// Addresses as people supply them (arguments, or a file one a line with blank lines and # comments): valid, invalid, repeated.
import { addressKey, AddressError, normalizeAddress } from '../mail/address.js';

export interface Invalid {
  /** Where it came from: "argument" or the file's name. */
  source: string;
  /** 1-based line number in the file, or position on the command line. */
  line: number;
  text: string;
  reason: string;
}

/** Validates addresses as they come, keeping each (compared case-insensitively) once across every source. */
export class AddressCollector {
  private readonly seen = new Set<string>();
  readonly invalid: Invalid[] = [];
  /** Valid entries given, repeats included. */
  valid = 0;

  /** Returns the valid addresses in `entries` not taken before, normalised. */
  take(entries: Iterable<[line: number, text: string]>, source: string): string[] {
    const fresh: string[] = [];
    for (const [line, text] of entries) {
      let address: string;
      try {
        address = normalizeAddress(text);
      } catch (err) {
        if (!(err instanceof AddressError)) throw err;
        this.invalid.push({ source, line, text, reason: err.message });
        continue;
      }
      this.valid += 1;
      const key = addressKey(address);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      fresh.push(address);
    }
    return fresh;
  }
}

/** The address lines of a file's text, numbered as an editor numbers them. */
export function* addressLines(text: string): Generator<[number, string]> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = (lines[i] as string).trim();
    if (t === '' || t.startsWith('#')) continue;
    yield [i + 1, t];
  }
}

/** Groups of up to `size` items. */
export function* chunks<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}
