// The streaming check gives the same verdict however TCP cuts the message into chunks (a CRLF split across two).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageCheck, type MessageProblem } from '../../ingress/message-check.js';

async function verdict(message: Buffer, cuts: number[], maxBytes = 1 << 20): Promise<{ problem: MessageProblem | null; passed: Buffer }> {
  const check = new MessageCheck({ maxBytes });
  const out: Buffer[] = [];
  check.on('data', (c: Buffer) => out.push(c));
  let from = 0;
  for (const at of [...cuts, message.length]) {
    check.write(message.subarray(from, at));
    from = at;
  }
  check.end();
  await new Promise((resolve) => check.once('end', resolve));
  return { problem: check.problem, passed: Buffer.concat(out) };
}

const CASES: [string, string, MessageProblem | null][] = [
  ['CRLF only', 'Subject: x\r\n\r\nbody\r\n', null],
  ['a bare LF', 'Subject: x\r\n\r\nbo\ndy\r\n', 'bare-lf'],
  ['an LF first', '\nSubject: x\r\n', 'bare-lf'],
  ['two LFs', 'a\r\n\n', 'bare-lf'],
  ['a bare CR', 'Subject: x\r\n\r\nbo\rdy\r\n', 'bare-cr'],
  ['CR CR LF', 'a\r\r\n', 'bare-cr'],
  ['a CR at the end', 'a\r\nb\r', 'bare-cr'],
  ['998 octets', `${'x'.repeat(998)}\r\n`, null],
  ['999 octets', `${'x'.repeat(999)}\r\n`, 'line'],
  ['999 octets, no end', 'x'.repeat(999), 'line'],
];

describe('ingress message check', () => {
  for (const [name, text, expected] of CASES) {
    it(`${name}: ${expected ?? 'passes'} at every chunk boundary`, async () => {
      const message = Buffer.from(text, 'binary');
      for (let cut = 0; cut <= message.length; cut++) {
        const { problem, passed } = await verdict(message, [cut]);
        assert.equal(problem, expected, `cut at ${cut}`);
        if (!expected) assert.ok(passed.equals(message), `cut at ${cut}: passed on unchanged`);
      }
      const { problem } = await verdict(message, Array.from({ length: message.length }, (_, i) => i));
      assert.equal(problem, expected, 'one byte at a time');
    });
  }

  it('passes nothing on once over the size limit, and keeps counting', async () => {
    const { problem, passed } = await verdict(Buffer.from('12345\r\n67890\r\n'), [7], 10);
    assert.equal(problem, 'size');
    assert.equal(passed.toString(), '12345\r\n');
  });
});
