// A message over SIZE is counted and dropped as it streams, never buffered: ten clients sending 200 MB each at once
// get 552, and the process's memory stays flat.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openDialogue } from '../helpers/smtp-dialogue.js';
import { createList, useStack } from '../helpers/stack.js';

const LIMIT = 1024 * 1024;
const CLIENTS = 10;
const PER_CLIENT = 200 * 1024 * 1024;
/** What the whole run may add to the process's resident memory (the old code held 2 GB). */
const MAX_GROWTH = 100 * 1024 * 1024;

/** One megabyte of 78-octet lines: what a large, plain attachment looks like on the wire. */
const BLOCK = Buffer.from(`${'x'.repeat(76)}\r\n`.repeat(Math.floor((1024 * 1024) / 78)));

async function sendHuge(port: number, list: string): Promise<number> {
  const session = await openDialogue(port, 120_000);
  try {
    assert.equal((await session.command('EHLO sender.example')).code, 250);
    assert.equal((await session.command('MAIL FROM:<alice@example.com>')).code, 250);
    assert.equal((await session.command(`RCPT TO:<${list}>`)).code, 250);
    assert.equal((await session.command('DATA')).code, 354);
    await session.write(`From: alice@example.com\r\nTo: ${list}\r\nSubject: huge\r\n\r\n`);
    for (let sent = 0; sent < PER_CLIENT; sent += BLOCK.length) await session.write(BLOCK);
    await session.write('.\r\n');
    const final = await session.reply();
    assert.equal(final.code, 552, final.text);
    // The session goes on: the next transaction is answered.
    assert.equal((await session.command('RSET')).code, 250);
    return final.code;
  } finally {
    session.close();
  }
}

describe('ingress: oversized messages stream through without being buffered', () => {
  const env = useStack({ maxMessageBytes: LIMIT, limits: { maxConnectionsPerIp: CLIENTS } });

  it(`answers 552 to ${CLIENTS} clients sending ${PER_CLIENT / 1024 / 1024} MB each at once, with resident memory under ${MAX_GROWTH / 1024 / 1024} MB above the start`, async () => {
    const list = await createList(env.stack.db);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const started = Date.now();
    try {
      const codes = await Promise.all(Array.from({ length: CLIENTS }, () => sendHuge(env.stack.smtpPort, list)));
      assert.deepEqual(codes, Array(CLIENTS).fill(552));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const growth = peak - baseline;
    console.log(
      `${CLIENTS} × ${PER_CLIENT / 1024 / 1024} MB in ${((Date.now() - started) / 1000).toFixed(1)} s; RSS ${(baseline / 1048576).toFixed(0)} MB → peak ${(peak / 1048576).toFixed(0)} MB (+${(growth / 1048576).toFixed(1)} MB)`,
    );
    assert.ok(growth < MAX_GROWTH, `resident memory grew by ${(growth / 1048576).toFixed(1)} MB`);
    const { rows } = await env.stack.db.query<{ n: string }>('SELECT count(*) AS n FROM inbound WHERE list_address = $1', [list]);
    assert.equal(rows[0]?.n, '0');
  });
});
