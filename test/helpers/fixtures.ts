// Reads the .eml fixtures under test/fixtures/ (the compiled tests live in dist/test/).
import { readFileSync } from 'node:fs';

export function fixture(name: string): Buffer {
  return readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url));
}
