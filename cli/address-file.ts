// Reads a file of addresses (one a line, blank lines and # comments ignored) into valid, invalid and repeated ones.
import { addressKey, AddressError, normalizeAddress } from '../mail/address.js';

export interface Invalid {
  /** 1-based line number in the file, or argument position on the command line. */
  line: number;
  text: string;
  reason: string;
}

export interface AddressBatch {
  /** Valid, normalised, each address once (compared case-insensitively). */
  addresses: string[];
  invalid: Invalid[];
  /** Valid entries that repeated an earlier one. */
  repeated: number;
}

export function collect(entries: Iterable<[line: number, text: string]>): AddressBatch {
  const seen = new Set<string>();
  const batch: AddressBatch = { addresses: [], invalid: [], repeated: 0 };
  for (const [line, text] of entries) {
    let address: string;
    try {
      address = normalizeAddress(text);
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      batch.invalid.push({ line, text, reason: err.message });
      continue;
    }
    const key = addressKey(address);
    if (seen.has(key)) batch.repeated += 1;
    else {
      seen.add(key);
      batch.addresses.push(address);
    }
  }
  return batch;
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
