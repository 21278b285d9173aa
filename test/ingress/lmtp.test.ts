// LMTP: one reply per accepted recipient after DATA, so a recipient whose workflow could not start is deferred alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, ServiceError, type WorkflowClientInterceptor } from '@temporalio/client';
import { buildMessage, deliver, expectedWorkflowId, startIngress, storedFor, workflowAbsent } from '../helpers/ingress.js';
import { openDialogue } from '../helpers/smtp-dialogue.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { createList, startStack, subscribe, waitForState, type Stack } from '../helpers/stack.js';
import { devServerAddress } from '../helpers/temporal.js';

const LIMIT = 64 * 1024;

describe('ingress over LMTP', () => {
  let recorder: SmtpRecorder;
  let stack: Stack;
  before(async () => {
    recorder = await startSmtpRecorder();
    stack = await startStack({ smarthost: recorder.url, lmtp: true, maxMessageBytes: LIMIT });
  });
  after(async () => {
    await stack.stop();
    await recorder.close();
  });

  it('answers 250 with its workflow ID for each accepted recipient, and 550 5.1.1 at RCPT for strangers', async () => {
    const dev = await createList(stack.db, [], 'dev');
    const users = await createList(stack.db, [], 'users');
    await subscribe(stack.db, dev, ['alice@example.com']);
    const usersRequest = users.replace('@', '-request@');
    const raw = await buildMessage({ from: 'alice@example.com', to: dev, subject: 'over lmtp' });

    const session = await openDialogue(stack.smtpPort);
    try {
      assert.match(session.greeting.text, /^220 .*LMTP/);
      assert.equal((await session.command('LHLO sender.example')).code, 250);
      assert.equal((await session.command('MAIL FROM:<alice@example.com>')).code, 250);
      assert.equal((await session.command(`RCPT TO:<${dev}>`)).code, 250);
      const stranger = await session.command('RCPT TO:<victim@elsewhere.example>');
      assert.equal(stranger.code, 550);
      assert.match(stranger.text, /^550 5\.1\.1 /);
      assert.equal((await session.command(`RCPT TO:<${usersRequest}>`)).code, 250);
      const { start, final } = await session.data(raw, 2);
      assert.equal(start.code, 354);
      assert.deepEqual(
        final.map((r) => r.text),
        [`250 2.0.0 queued as ${expectedWorkflowId('post', dev, raw)}`, `250 2.0.0 queued as ${expectedWorkflowId('request', users, raw)}`],
      );
    } finally {
      session.close();
    }
    await waitForState(stack.client, expectedWorkflowId('post', dev, raw), ['delivered']);
  });

  it('reports accepted and refused recipients to nodemailer, as a sending MTA sees them', async () => {
    const list = await createList(stack.db);
    await subscribe(stack.db, list, ['bob@example.com']);
    const raw = await buildMessage({ from: 'bob@example.com', to: list, subject: 'nodemailer over lmtp' });
    const report = await deliver(stack.smtpPort, { from: 'bob@example.com', to: [list, 'nobody@lists.example'], raw, lmtp: true });
    assert.deepEqual(report.accepted, [list]);
    assert.deepEqual(report.rejected, ['nobody@lists.example']);
    assert.equal(report.rejectedErrors[0]?.responseCode, 550);
    assert.equal(report.response, `250 2.0.0 queued as ${expectedWorkflowId('post', list, raw)}`);
  });

  it('defers only the recipient whose workflow could not start; the retry for it starts the workflow', async () => {
    const healthy = await createList(stack.db, [], 'healthy');
    const unlucky = await createList(stack.db, [], 'unlucky');
    await subscribe(stack.db, healthy, ['carol@example.com']);
    await subscribe(stack.db, unlucky, ['carol@example.com']);
    // The frontend refuses starts for one list only (as when one shard is unavailable).
    const refuseUnlucky: WorkflowClientInterceptor = {
      async startWithDetails(input, next) {
        if (input.options.workflowId.includes(`/${unlucky}/`)) throw new ServiceError('14 UNAVAILABLE: shard unavailable, try again');
        return next(input);
      },
    };
    const connection = await Connection.connect({ address: devServerAddress() });
    const client = new Client({ connection, namespace: 'default', interceptors: { workflow: [refuseUnlucky] } });
    const faulty = await startIngress(stack, { client, lmtp: true });
    const raw = await buildMessage({ from: 'carol@example.com', to: [healthy, unlucky], subject: 'half a success' });
    const healthyId = expectedWorkflowId('post', healthy, raw);
    const unluckyId = expectedWorkflowId('post', unlucky, raw);
    try {
      const report = await deliver(faulty.port, { from: 'carol@example.com', to: [healthy, unlucky], raw, lmtp: true });
      assert.deepEqual(report.accepted, [healthy]);
      assert.deepEqual(report.rejected, [unlucky]);
      assert.equal(report.rejectedErrors[0]?.responseCode, 451);
      assert.match(report.rejectedErrors[0]?.response ?? '', /^451 4\.3\.0 /);
    } finally {
      await faulty.close();
      await connection.close();
    }
    assert.deepEqual(await storedFor(stack.db, raw), {
      messages: 1,
      inbound: [
        { workflowId: healthyId, started: true },
        { workflowId: unluckyId, started: false },
      ],
    });
    const { runId } = await stack.client.workflow.getHandle(healthyId).describe();
    assert.ok(await workflowAbsent(stack.client, unluckyId));

    // The MTA retries the deferred recipient only, with the same bytes.
    const retry = await deliver(stack.smtpPort, { from: 'carol@example.com', to: [unlucky], raw, lmtp: true });
    assert.equal(retry.response, `250 2.0.0 queued as ${unluckyId}`);
    await waitForState(stack.client, unluckyId, ['delivered']);
    await waitForState(stack.client, healthyId, ['delivered']);
    assert.equal((await stack.client.workflow.getHandle(healthyId).describe()).runId, runId);
    assert.equal(recorder.received.filter((r) => r.raw.includes('half a success')).length, 2);
  });

  it('answers 552 for every recipient when the message is over the limit', async () => {
    const dev = await createList(stack.db, [], 'dev');
    const ops = await createList(stack.db, [], 'ops');
    const raw = await buildMessage({ from: 'dan@example.com', to: [dev, ops], subject: 'huge', text: `${'z'.repeat(76)}\n`.repeat(1000) });
    assert.ok(raw.length > LIMIT);
    const session = await openDialogue(stack.smtpPort);
    try {
      await session.command('LHLO sender.example');
      await session.command('MAIL FROM:<dan@example.com>');
      assert.equal((await session.command(`RCPT TO:<${dev}>`)).code, 250);
      assert.equal((await session.command(`RCPT TO:<${ops}>`)).code, 250);
      const { final } = await session.data(raw, 2);
      assert.deepEqual(final.map((r) => r.code), [552, 552]);
    } finally {
      session.close();
    }
    assert.deepEqual(await storedFor(stack.db, raw), { messages: 0, inbound: [] });
  });
});
