// SMTP smuggling and message format: only <CRLF>.<CRLF> ends DATA, and a message holding a bare CR or LF (where every
// smuggling variant hides) or a line over 998 octets is refused at DATA with 550, so no copy of it ever leaves listflow.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { sha256Hex } from '../../store/messages.js';
import { buildMessage, deliver, expectedWorkflowId, storedFor } from '../helpers/ingress.js';
import { openDialogue, type Dialogue } from '../helpers/smtp-dialogue.js';
import { createList, subscribe, useStack } from '../helpers/stack.js';

/** The end-of-data look-alikes that some server, somewhere, has taken for the real one. */
const VARIANTS: Record<string, string> = {
  '<LF>.<LF>': '\n.\n',
  '<CR>.<CR>': '\r.\r',
  '<LF>.<CR><LF>': '\n.\r\n',
  '<CR><LF>.<LF>': '\r\n.\n',
  '<CR>.<CR><LF>': '\r.\r\n',
  '<CR><LF>.<CR>': '\r\n.\r',
  '<LF>.<CR>': '\n.\r',
  '<CR>.<LF>': '\r.\n',
  '<CR><LF>.<CR>.<LF>': '\r\n.\r.\n',
};

function header(list: string, subject: string): string {
  return `From: alice@example.com\r\nTo: ${list}\r\nSubject: ${subject}\r\nMessage-ID: <${randomBytes(8).toString('hex')}@sender.example>\r\n\r\n`;
}

/** Opens a transaction for `list` and sends DATA; the caller writes the message bytes itself. */
async function openData(port: number, list: string): Promise<Dialogue> {
  const session = await openDialogue(port);
  assert.equal((await session.command('EHLO sender.example')).code, 250);
  assert.equal((await session.command('MAIL FROM:<alice@example.com>')).code, 250);
  assert.equal((await session.command(`RCPT TO:<${list}>`)).code, 250);
  assert.equal((await session.command('DATA')).code, 354);
  return session;
}

async function inboundFor(env: ReturnType<typeof useStack>, list: string): Promise<string[]> {
  const { rows } = await env.stack.db.query<{ workflow_id: string }>('SELECT workflow_id FROM inbound WHERE list_address = $1', [list]);
  return rows.map((r) => r.workflow_id);
}

describe('ingress: SMTP smuggling and message format', () => {
  const env = useStack();

  for (const [name, bytes] of Object.entries(VARIANTS)) {
    it(`does not end DATA at ${name}, refuses the message with 550, and starts nothing for the smuggled part`, async () => {
      const list = await createList(env.stack.db);
      await subscribe(env.stack.db, list, ['bob@example.com']);
      const smuggled = `MAIL FROM:<mallory@evil.example>\r\nRCPT TO:<${list}>\r\nDATA\r\n${header(list, 'smuggled')}I was smuggled.\r\n`;
      const raw = `${header(list, `carrier ${name}`)}Hello list.${bytes}${smuggled}`;
      const session = await openData(env.stack.smtpPort, list);
      try {
        await session.write(`${raw}.\r\n`);
        const final = await session.reply();
        assert.equal(final.code, 550, final.text);
        assert.match(final.text, /5\.5\.2 bare (LF|CR)/);
        // The next reply answers our NOOP: no reply to a smuggled MAIL/RCPT/DATA is waiting in between.
        assert.equal((await session.command('NOOP')).code, 250);
      } finally {
        session.close();
      }
      assert.deepEqual(await inboundFor(env, list), []);
      const { rows } = await env.stack.db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE sha256 = $1', [sha256Hex(Buffer.from(raw, 'binary'))]);
      assert.equal(rows[0]?.n, '0');
    });
  }

  it('splits a message only at <CRLF>.<CRLF>: a pipelined second transaction is its own message', async () => {
    // The control for the tests above: the same smuggling text, with real CRLF ends, is two messages, as sent.
    const list = await createList(env.stack.db);
    const first = `${header(list, 'first')}Hello list.\r\n`;
    const second = `${header(list, 'second')}Second.\r\n`;
    const session = await openData(env.stack.smtpPort, list);
    try {
      await session.write(`${first}.\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<${list}>\r\nDATA\r\n${second}.\r\n`);
      assert.equal((await session.reply()).code, 250);
      assert.equal((await session.reply()).code, 250);
      assert.equal((await session.reply()).code, 250);
      assert.equal((await session.reply()).code, 354);
      assert.equal((await session.reply()).code, 250);
    } finally {
      session.close();
    }
    const ids = [expectedWorkflowId('post', list, Buffer.from(first)), expectedWorkflowId('post', list, Buffer.from(second))].sort();
    assert.deepEqual((await inboundFor(env, list)).sort(), ids);
  });

  it('keeps a dot-stuffed lone dot as content: one message, stored with the dot', async () => {
    const list = await createList(env.stack.db);
    const raw = Buffer.from(`${header(list, 'a lone dot')}above\r\n.\r\nbelow\r\n`);
    const session = await openData(env.stack.smtpPort, list);
    try {
      await session.write(`${raw.toString().replace('\r\n.\r\n', '\r\n..\r\n')}.\r\n`);
      assert.equal((await session.reply()).code, 250);
    } finally {
      session.close();
    }
    assert.deepEqual(await storedFor(env.stack.db, raw), { messages: 1, inbound: [{ workflowId: expectedWorkflowId('post', list, raw), started: true }] });
  });

  it('refuses a line of 999 octets with 550 5.6.0 and accepts one of 998', async () => {
    const list = await createList(env.stack.db);
    const fits = Buffer.from(`${header(list, '998')}${'a'.repeat(998)}\r\n`);
    const report = await deliver(env.stack.smtpPort, { from: 'alice@example.com', to: [list], raw: fits });
    assert.equal(report.response, `250 2.0.0 queued as ${expectedWorkflowId('post', list, fits)}`);

    const tooLong = `${header(list, '999')}${'b'.repeat(999)}\r\n`;
    const session = await openData(env.stack.smtpPort, list);
    try {
      await session.write(`${tooLong}.\r\n`);
      const final = await session.reply();
      assert.equal(final.code, 550, final.text);
      assert.match(final.text, /5\.6\.0 line longer than 998 octets/);
    } finally {
      session.close();
    }
    assert.equal((await storedFor(env.stack.db, Buffer.from(tooLong))).messages, 0);
  });

  it('accepts a long paragraph as a mail program sends it (quoted-printable): the line limit costs legitimate mail nothing', async () => {
    const list = await createList(env.stack.db);
    // nodemailer encodes a 5,000-character paragraph as quoted-printable, as MUAs do.
    const raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'long lines', text: `${'word '.repeat(1000)}\n` });
    assert.match(raw.toString(), /quoted-printable/i);
    const report = await deliver(env.stack.smtpPort, { from: 'alice@example.com', to: [list], raw });
    assert.equal(report.response, `250 2.0.0 queued as ${expectedWorkflowId('post', list, raw)}`);
  });
});
