// SIZE: the limit is advertised in EHLO and enforced with 552, both for a declared size and for the bytes actually sent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildMessage, deliver, deliverExpectingFailure, expectedWorkflowId, storedFor, workflowAbsent } from '../helpers/ingress.js';
import { openDialogue } from '../helpers/smtp-dialogue.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { createList, startStack, subscribe, type Stack } from '../helpers/stack.js';

const LIMIT = 4096;

describe('ingress message size limit', () => {
  let recorder: SmtpRecorder;
  let stack: Stack;
  let list: string;
  before(async () => {
    recorder = await startSmtpRecorder();
    stack = await startStack({ smarthost: recorder.url, maxMessageBytes: LIMIT });
    list = await createList(stack.db);
    await subscribe(stack.db, list, ['alice@example.com']);
  });
  after(async () => {
    await stack.stop();
    await recorder.close();
  });

  it('advertises SIZE in the EHLO reply', async () => {
    const session = await openDialogue(stack.smtpPort);
    try {
      const ehlo = await session.command('EHLO sender.example');
      assert.equal(ehlo.code, 250);
      assert.ok(ehlo.lines.includes(`SIZE ${LIMIT}`), ehlo.text);
    } finally {
      session.close();
    }
  });

  it('answers 552 at MAIL FROM when the declared size is over the limit, and stores nothing', async () => {
    // nodemailer refuses such a send itself once it has read SIZE, so speak the protocol directly, as an MTA would.
    const raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'declared too big' });
    const session = await openDialogue(stack.smtpPort);
    try {
      assert.equal((await session.command('EHLO sender.example')).code, 250);
      const mail = await session.command(`MAIL FROM:<alice@example.com> SIZE=${LIMIT + 1}`);
      assert.equal(mail.code, 552, mail.text);
      // The transaction never opened: recipients and data are refused too.
      assert.equal((await session.command(`RCPT TO:<${list}>`)).code, 503);
      assert.equal((await session.data(raw)).start.code, 503);
      // A declared size within the limit opens it.
      assert.equal((await session.command(`MAIL FROM:<alice@example.com> SIZE=${LIMIT}`)).code, 250);
    } finally {
      session.close();
    }
    assert.deepEqual(await storedFor(stack.db, raw), { messages: 0, inbound: [] });
    assert.ok(await workflowAbsent(stack.client, expectedWorkflowId('post', list, raw)));
  });

  it('answers 552 after DATA when the message is over the limit, stores nothing and starts no workflow', async () => {
    const raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'too big', text: `${'x'.repeat(76)}\n`.repeat(100) });
    assert.ok(raw.length > LIMIT);
    const err = await deliverExpectingFailure(stack.smtpPort, { from: 'alice@example.com', to: [list], raw });
    assert.equal(err.responseCode, 552, err.message);
    assert.match(err.response ?? '', /^552 /);
    assert.deepEqual(await storedFor(stack.db, raw), { messages: 0, inbound: [] });
    assert.ok(await workflowAbsent(stack.client, expectedWorkflowId('post', list, raw)));
  });

  it('accepts a message under the limit with a correct declared size', async () => {
    const raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'fits', text: `${'y'.repeat(76)}\n`.repeat(20) });
    assert.ok(raw.length < LIMIT);
    const report = await deliver(stack.smtpPort, { from: 'alice@example.com', to: [list], raw, size: raw.length });
    const id = expectedWorkflowId('post', list, raw);
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);
    assert.deepEqual(await storedFor(stack.db, raw), { messages: 1, inbound: [{ workflowId: id, started: true }] });
  });
});
