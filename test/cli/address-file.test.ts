// The pure parts of the CLI: reading an address file, and the aligned, terminal-safe output.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressCollector, addressLines, chunks } from '../../cli/address-file.js';
import { clean, table } from '../../cli/output.js';

describe('address files', () => {
  it('numbers lines as an editor does, skipping blank lines and # comments, with CRLF and a BOM', () => {
    const text = '\uFEFF# header\r\nalice@example.org\r\n\r\n  bob@example.org  \r\n   # indented comment\nnot an address\n';
    assert.deepEqual([...addressLines(text)], [
      [2, 'alice@example.org'],
      [4, 'bob@example.org'],
      [6, 'not an address'],
    ]);
  });

  it('keeps each address once across sources, counting repeats as valid and reporting invalid ones by source and line', () => {
    const c = new AddressCollector();
    assert.deepEqual(c.take([[1, 'Alice@Example.org'], [2, 'bob@']], 'argument'), ['Alice@example.org']);
    assert.deepEqual(c.take([[7, 'alice@example.org'], [9, 'carol@example.org']], 'list.txt'), ['carol@example.org']);
    assert.equal(c.valid, 3);
    assert.deepEqual(c.invalid.map((i) => [i.source, i.line, i.text]), [['argument', 2, 'bob@']]);
  });

  it('chunks an iterable', () => {
    assert.deepEqual([...chunks([1, 2, 3, 4, 5], 2)], [[1, 2], [3, 4], [5]]);
    assert.deepEqual([...chunks([], 2)], []);
  });
});

describe('output', () => {
  it('aligns columns and leaves the last one unpadded', () => {
    assert.equal(table(['A', 'LONGER'], [['xyz', '1'], ['x', '22']]), 'A    LONGER\nxyz  1\nx    22\n');
  });
  it('makes control characters from mail harmless on a terminal', () => {
    assert.equal(clean('hi\u001b[31mred\r\n'), 'hi?[31mred??');
  });
});
