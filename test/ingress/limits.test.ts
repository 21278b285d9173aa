// Limits against hostile clients: connections (total and per IP), idle time, commands, recipients per transaction,
// unknown recipients (with the query count a dictionary attack costs), and deadlines for tricklers. Each cut-off is a
// 4xx the client can retry after, and a log line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IngressLimits } from '../../ingress/limits.js';
import { countingDb, startIngress, storedFor, type ExtraIngress } from '../helpers/ingress.js';
import { openDialogue, type Dialogue, type Reply } from '../helpers/smtp-dialogue.js';
import { createList, useStack, type Stack } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An ingress on the stack with these limits, whose log lines are kept. */
async function limited(stack: Stack, limits: Partial<IngressLimits>, db = stack.db): Promise<ExtraIngress & { lines: string[] }> {
  const lines: string[] = [];
  const ingress = await startIngress(stack, { limits, db, log: (line) => lines.push(line) });
  return { ...ingress, lines };
}

async function hello(port: number): Promise<Dialogue> {
  const session = await openDialogue(port);
  assert.equal(session.greeting.code, 220, session.greeting.text);
  assert.equal((await session.command('EHLO sender.example')).code, 250);
  return session;
}

/** Every reply until the server closes the connection. */
async function repliesUntilClosed(session: Dialogue): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (;;) {
    try {
      replies.push(await session.reply());
    } catch {
      return replies;
    }
  }
}

describe('ingress limits', () => {
  const env = useStack();

  it('answers 421 over the total number of connections, and accepts again once one closes', async () => {
    const ingress = await limited(env.stack, { maxConnections: 3 });
    const open: Dialogue[] = [];
    try {
      for (let i = 0; i < 3; i++) open.push(await hello(ingress.port));
      const over = await openDialogue(ingress.port);
      assert.equal(over.greeting.code, 421, over.greeting.text);
      await over.closed;
      const first = open.shift() as Dialogue;
      first.close();
      await first.closed;
      open.push(await hello(ingress.port));
    } finally {
      for (const s of open) s.close();
      await ingress.close();
    }
  });

  it('answers 421 over the connections from one IP address, while another address still gets in', async () => {
    const ingress = await limited(env.stack, { maxConnectionsPerIp: 2 });
    const open: Dialogue[] = [];
    try {
      open.push(await hello(ingress.port), await hello(ingress.port));
      const over = await openDialogue(ingress.port);
      assert.equal(over.greeting.code, 421);
      assert.match(over.greeting.text, /4\.7\.0 too many connections from your address/);
      await over.closed;
      // 127.0.0.2 is loopback too, and another client as far as the limit goes.
      const other = await openDialogue(ingress.port, 30_000, '127.0.0.2');
      assert.equal(other.greeting.code, 220);
      open.push(other);
      assert.ok(ingress.lines.some((l) => /refused a connection from 127\.0\.0\.1: 2 already open/.test(l)), ingress.lines.join('\n'));
    } finally {
      for (const s of open) s.close();
      await ingress.close();
    }
  });

  it('closes an idle session with 421', async () => {
    const ingress = await limited(env.stack, { idleTimeoutMs: 500 });
    try {
      const session = await hello(ingress.port);
      const replies = await repliesUntilClosed(session);
      assert.equal(replies[0]?.code, 421, replies[0]?.text);
      assert.match(replies[0]?.text ?? '', /Timeout/);
    } finally {
      await ingress.close();
    }
  });

  it('answers 421 to the command after the session limit and closes', async () => {
    const ingress = await limited(env.stack, { maxCommands: 5 });
    try {
      const session = await hello(ingress.port); // EHLO is the first command
      for (let i = 0; i < 4; i++) assert.equal((await session.command('NOOP')).code, 250);
      const over = await session.command('NOOP');
      assert.equal(over.code, 421, over.text);
      assert.match(over.text, /4\.7\.0 too many commands/);
      await session.closed;
      assert.ok(ingress.lines.some((l) => /closing the session: more than 5 commands/.test(l)), ingress.lines.join('\n'));
    } finally {
      await ingress.close();
    }
  });

  it('answers 452 4.5.3 to a recipient over the per-transaction limit and delivers to the others', async () => {
    const ingress = await limited(env.stack, { maxRecipients: 3 });
    const list = await createList(env.stack.db);
    const [local, domain] = list.split('@') as [string, string];
    try {
      const session = await hello(ingress.port);
      assert.equal((await session.command('MAIL FROM:<alice@example.com>')).code, 250);
      for (const kind of ['', '-request', '-owner']) assert.equal((await session.command(`RCPT TO:<${local}${kind}@${domain}>`)).code, 250);
      const over = await session.command(`RCPT TO:<${local}-join@${domain}>`);
      assert.equal(over.code, 452, over.text);
      assert.match(over.text, /4\.5\.3 too many recipients/);
      const raw = Buffer.from(`From: alice@example.com\r\nTo: ${list}\r\nSubject: three of four\r\n\r\nHello.\r\n`);
      const { final } = await session.data(raw);
      assert.equal(final[0]?.code, 250, final[0]?.text);
      assert.equal((await storedFor(env.stack.db, raw)).inbound.length, 3);
      session.close();
    } finally {
      await ingress.close();
    }
  });

  it('ends a dictionary attack after the unknown-recipient limit: 10,000 pipelined RCPTs cost at most that many lookups', async () => {
    const counting = countingDb(env.stack.db);
    const ingress = await limited(env.stack, { maxUnknownRecipients: 5 }, counting.db);
    try {
      const session = await hello(ingress.port);
      assert.equal((await session.command('MAIL FROM:<spammer@evil.example>')).code, 250);
      const before = counting.queries();
      const attack = Array.from({ length: 10_000 }, (_, i) => `RCPT TO:<name${i}@lists.example>\r\n`).join('');
      await session.write(attack).catch(() => {}); // the server may close before it has read it all
      const replies = await repliesUntilClosed(session);
      assert.deepEqual(
        replies.map((r) => r.code),
        [550, 550, 550, 550, 550, 421],
      );
      assert.match(replies[5]?.text ?? '', /4\.7\.0 too many unknown recipients/);
      // Five lookups, and perhaps the directory's periodic reload.
      assert.ok(counting.queries() - before <= 6, `${counting.queries() - before} queries`);
      assert.ok(ingress.lines.some((l) => /more than 5 unknown recipients/.test(l)), ingress.lines.join('\n'));
    } finally {
      await ingress.close();
    }
  });

  it('remembers unknown addresses: 10,000 RCPTs over a 100-name dictionary are about 100 queries, not 10,000', async () => {
    const counting = countingDb(env.stack.db);
    const ingress = await limited(env.stack, { maxUnknownRecipients: 1_000_000, maxCommands: 1_000_000 }, counting.db);
    try {
      const session = await hello(ingress.port);
      assert.equal((await session.command('MAIL FROM:<spammer@evil.example>')).code, 250);
      const before = counting.queries();
      for (let round = 0; round < 10; round++) {
        await session.write(Array.from({ length: 1000 }, (_, i) => `RCPT TO:<word${i % 100}@lists.example>\r\n`).join(''));
        for (let i = 0; i < 1000; i++) assert.equal((await session.reply()).code, 550);
      }
      const queries = counting.queries() - before;
      // One lookup per name, plus the directory's reload every 5 s while this runs.
      assert.ok(queries >= 100 && queries <= 110, `${queries} queries`);
      session.close();
    } finally {
      await ingress.close();
    }
  });

  it('cuts off a client trickling a command byte by byte at the session deadline', async () => {
    const ingress = await limited(env.stack, { sessionTimeoutMs: 2000, idleTimeoutMs: 10_000 });
    try {
      const session = await hello(ingress.port);
      const started = Date.now();
      const trickle = (async () => {
        for (const byte of 'NOOP NOOP NOOP NOOP NOOP') {
          if (!(await session.write(byte).then(() => true, () => false))) return;
          await sleep(500);
        }
      })();
      const replies = await repliesUntilClosed(session);
      const elapsed = Date.now() - started;
      await trickle;
      assert.equal(replies[0]?.code, 421, replies[0]?.text);
      assert.match(replies[0]?.text ?? '', /4\.4\.2 session time limit/);
      assert.ok(elapsed < 6000, `cut off after ${elapsed} ms`);
      assert.ok(ingress.lines.some((l) => /closing the session: session longer than 2 s/.test(l)), ingress.lines.join('\n'));
    } finally {
      await ingress.close();
    }
  });

  it('cuts off a client trickling DATA below the least rate, and stores nothing', async () => {
    const ingress = await limited(env.stack, { idleTimeoutMs: 1500, minDataRate: 1000 });
    const list = await createList(env.stack.db);
    try {
      const session = await hello(ingress.port);
      assert.equal((await session.command('MAIL FROM:<alice@example.com>')).code, 250);
      assert.equal((await session.command(`RCPT TO:<${list}>`)).code, 250);
      assert.equal((await session.command('DATA')).code, 354);
      const started = Date.now();
      // One byte every 300 ms: never idle, but far below 1000 bytes/s.
      const trickle = (async () => {
        for (const byte of `Subject: slow\r\n\r\n${'z'.repeat(100)}`) {
          if (!(await session.write(byte).then(() => true, () => false))) return;
          await sleep(300);
        }
      })();
      const replies = await repliesUntilClosed(session);
      const elapsed = Date.now() - started;
      await trickle;
      assert.equal(replies[0]?.code, 421, replies[0]?.text);
      assert.match(replies[0]?.text ?? '', /4\.4\.2 message transfer too slow/);
      assert.ok(elapsed < 5000, `cut off after ${elapsed} ms`);
      assert.ok(ingress.lines.some((l) => /DATA slower than 1000 bytes\/s/.test(l)), ingress.lines.join('\n'));
      const { rows } = await env.stack.db.query<{ n: string }>('SELECT count(*) AS n FROM inbound WHERE list_address = $1', [list]);
      assert.equal(rows[0]?.n, '0');
    } finally {
      await ingress.close();
    }
  });
});
