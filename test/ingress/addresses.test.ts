// Envelope addresses as SMTP writes them: a quoted local part that needs no quotes is the plain address, and a
// source route is accepted and ignored (RFC 5321 4.1.1.3, appendix C) — nothing is ever sent towards the route.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalEnvelopeAddress } from '../../ingress/envelope-address.js';
import { expectedWorkflowId, storedFor } from '../helpers/ingress.js';
import { openDialogue } from '../helpers/smtp-dialogue.js';
import { createList, subscribe, useStack, waitForState } from '../helpers/stack.js';

describe('ingress envelope addresses', () => {
  const env = useStack();

  it('reads "dev"@example.org as dev@example.org, for the list and for the sender', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['alice@example.com', 'bob@example.com']);
    const [local, domain] = list.split('@') as [string, string];
    const raw = Buffer.from(`From: alice@example.com\r\nTo: ${list}\r\nSubject: quoted\r\nMessage-ID: <q1@sender.example>\r\n\r\nHello.\r\n`);
    const session = await openDialogue(env.stack.smtpPort);
    try {
      assert.equal((await session.command('EHLO sender.example')).code, 250);
      assert.equal((await session.command('MAIL FROM:<"alice"@example.com>')).code, 250);
      const rcpt = await session.command(`RCPT TO:<"${local}"@${domain}>`);
      assert.equal(rcpt.code, 250, rcpt.text);
      const { final } = await session.data(raw);
      assert.equal(final[0]?.text, `250 2.0.0 queued as ${expectedWorkflowId('post', list, raw)}`);
    } finally {
      session.close();
    }
    const { rows } = await env.stack.db.query<{ rcpt_to: string; envelope_from: string }>('SELECT rcpt_to, envelope_from FROM inbound WHERE list_address = $1', [list]);
    assert.deepEqual(rows, [{ rcpt_to: list, envelope_from: 'alice@example.com' }]);
    // As the plain address, the sender is the member she is: her post goes out rather than being held.
    await waitForState(env.stack.client, expectedWorkflowId('post', list, raw), ['delivered']);
  });

  it('accepts and ignores a source route: <@evil.test:dev@example.org> is the list, and nothing goes to evil.test', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['carol@example.com']);
    const raw = Buffer.from(`From: carol@example.com\r\nTo: ${list}\r\nSubject: routed\r\nMessage-ID: <r1@sender.example>\r\n\r\nHello.\r\n`);
    const session = await openDialogue(env.stack.smtpPort);
    try {
      assert.equal((await session.command('EHLO sender.example')).code, 250);
      assert.equal((await session.command('MAIL FROM:<@relay.example,@other.example:carol@example.com>')).code, 250);
      const rcpt = await session.command(`RCPT TO:<@evil.test:${list}>`);
      assert.equal(rcpt.code, 250, rcpt.text);
      const { final } = await session.data(raw);
      assert.equal(final[0]?.code, 250, final[0]?.text);
    } finally {
      session.close();
    }
    const id = expectedWorkflowId('post', list, raw);
    assert.deepEqual((await storedFor(env.stack.db, raw)).inbound, [{ workflowId: id, started: true }]);
    const { rows } = await env.stack.db.query<{ rcpt_to: string; envelope_from: string }>('SELECT rcpt_to, envelope_from FROM inbound WHERE workflow_id = $1', [id]);
    assert.deepEqual(rows, [{ rcpt_to: list, envelope_from: 'carol@example.com' }]);
    await waitForState(env.stack.client, id, ['delivered']);
    assert.deepEqual(env.recorder.deliveredTo().filter((r) => r.includes('evil.test')), []);
  });

  it('keeps quotes that are needed, and so refuses such a recipient as a stranger', async () => {
    assert.equal(canonicalEnvelopeAddress('"dev"@example.org'), 'dev@example.org');
    assert.equal(canonicalEnvelopeAddress('"d\\ev"@example.org'), 'dev@example.org');
    assert.equal(canonicalEnvelopeAddress('"first.last"@example.org'), 'first.last@example.org');
    assert.equal(canonicalEnvelopeAddress('"two words"@example.org'), '"two words"@example.org');
    assert.equal(canonicalEnvelopeAddress('"a..b"@example.org'), '"a..b"@example.org');
    assert.equal(canonicalEnvelopeAddress('dev@example.org'), 'dev@example.org');
  });
});
