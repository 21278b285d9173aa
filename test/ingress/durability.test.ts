// 250 means durable: the bytes are committed and the workflow exists before the reply; any failure before that is 451.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { createPool } from '../../store/db.js';
import { sha256Hex } from '../../store/messages.js';
import {
  buildMessage,
  deliver,
  deliverExpectingFailure,
  expectedWorkflowId,
  freePort,
  startIngress,
  storedFor,
  workflowAbsent,
} from '../helpers/ingress.js';
import { createList, subscribe, useStack, waitForState } from '../helpers/stack.js';
import { devServerAddress } from '../helpers/temporal.js';

describe('ingress durability', () => {
  const env = useStack();

  it('answers 250 only once the bytes are in the message store and the workflow exists', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['alice@example.com']);
    const raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'durable' });
    const report = await deliver(env.stack.smtpPort, { from: 'alice@example.com', to: [list], raw });
    const id = expectedWorkflowId('post', list, raw);
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);

    // Straight after the 250, with no waiting: the bytes, the record of the start, and the workflow.
    const { rows } = await env.stack.db.query<{ raw: Buffer }>('SELECT raw FROM messages WHERE sha256 = $1', [sha256Hex(raw)]);
    assert.ok(rows[0]?.raw.equals(raw), 'the raw bytes as received are in messages');
    assert.deepEqual((await storedFor(env.stack.db, raw)).inbound, [{ workflowId: id, started: true }]);
    const description = await env.stack.client.workflow.getHandle(id).describe();
    assert.equal(description.type, 'postWorkflow');
    assert.equal(description.taskQueue, env.stack.taskQueue);
    await waitForState(env.stack.client, id, ['delivered']);
  });

  it('answers 451 while Temporal is unreachable (closed connection), keeps the bytes, and the retry starts the workflow', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['bob@example.com']);
    const connection = await Connection.connect({ address: devServerAddress() });
    const closedClient = new Client({ connection, namespace: 'default' });
    await connection.close();
    const broken = await startIngress(env.stack, { client: closedClient });
    const raw = await buildMessage({ from: 'bob@example.com', to: list, subject: 'while Temporal was away' });
    const id = expectedWorkflowId('post', list, raw);
    try {
      const err = await deliverExpectingFailure(broken.port, { from: 'bob@example.com', to: [list], raw });
      assert.equal(err.responseCode, 451, err.message);
      assert.match(err.response ?? '', /^451 4\.3\.0 /);
    } finally {
      await broken.close();
    }
    // The sending MTA keeps its copy; ingress kept the bytes and the record, not yet started.
    assert.deepEqual(await storedFor(env.stack.db, raw), { messages: 1, inbound: [{ workflowId: id, started: false }] });
    assert.ok(await workflowAbsent(env.stack.client, id));

    // The MTA retries the same bytes against a healthy ingress.
    const report = await deliver(env.stack.smtpPort, { from: 'bob@example.com', to: [list], raw });
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);
    assert.deepEqual(await storedFor(env.stack.db, raw), { messages: 1, inbound: [{ workflowId: id, started: true }] });
    await waitForState(env.stack.client, id, ['delivered']);
    await env.recorder.waitFor((received) => received.some((r) => r.to.includes('bob@example.com')));
  });

  it('answers 451 when the Temporal frontend is on a dead port', async () => {
    const list = await createList(env.stack.db);
    const deadPort = await freePort();
    // Fewer gRPC retries than the default (~20 s of back-off) keep the test short; the outcome is the same.
    const connection = Connection.lazy({
      address: `127.0.0.1:${deadPort}`,
      interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 2 }))],
    });
    const deadClient = new Client({ connection, namespace: 'default' });
    const broken = await startIngress(env.stack, { client: deadClient });
    const raw = await buildMessage({ from: 'carol@example.com', to: list, subject: 'nobody home' });
    const id = expectedWorkflowId('post', list, raw);
    try {
      const err = await deliverExpectingFailure(broken.port, { from: 'carol@example.com', to: [list], raw });
      assert.equal(err.responseCode, 451, err.message);
    } finally {
      await broken.close();
      await connection.close();
    }
    assert.deepEqual(await storedFor(env.stack.db, raw), { messages: 1, inbound: [{ workflowId: id, started: false }] });
    assert.ok(await workflowAbsent(env.stack.client, id));
    const report = await deliver(env.stack.smtpPort, { from: 'carol@example.com', to: [list], raw });
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);
    await env.stack.client.workflow.getHandle(id).describe();
  });

  it('answers 451 when the database is gone, stores nothing, and the retry is accepted', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['dave@example.com']);
    const pool = createPool(env.stack.database.url, 2);
    const broken = await startIngress(env.stack, { db: pool });
    const raw = await buildMessage({ from: 'dave@example.com', to: list, subject: 'database away' });
    const id = expectedWorkflowId('post', list, raw);
    try {
      // One message while the database is up, so the ingress has its list directory cached…
      const warm = await buildMessage({ from: 'dave@example.com', to: list, subject: 'database up' });
      await deliver(broken.port, { from: 'dave@example.com', to: [list], raw: warm });
      await pool.end();
      // …then the pool is gone: the RCPT (directory) or the DATA (store) step fails, and either is a 4xx.
      const err = await deliverExpectingFailure(broken.port, { from: 'dave@example.com', to: [list], raw });
      assert.equal(err.responseCode, 451, err.message);
      assert.match(err.response ?? '', /^451 4\.3\.0 /);
    } finally {
      await broken.close();
    }
    assert.deepEqual(await storedFor(env.stack.db, raw), { messages: 0, inbound: [] });
    assert.ok(await workflowAbsent(env.stack.client, id));
    const report = await deliver(env.stack.smtpPort, { from: 'dave@example.com', to: [list], raw });
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);
    await waitForState(env.stack.client, id, ['delivered']);
  });

  it('answers 451 at RCPT when the database is gone before the list directory was read', async () => {
    const list = await createList(env.stack.db);
    const pool = createPool(env.stack.database.url, 2);
    await pool.end();
    const broken = await startIngress(env.stack, { db: pool });
    const raw = await buildMessage({ from: 'erin@example.com', to: list, subject: 'no directory' });
    try {
      const err = await deliverExpectingFailure(broken.port, { from: 'erin@example.com', to: [list], raw });
      // Every recipient deferred: the MTA keeps the message rather than bouncing it.
      assert.equal(err.responseCode, 451, err.message);
      assert.equal(err.rejectedErrors?.[0]?.responseCode, 451);
    } finally {
      await broken.close();
    }
    assert.deepEqual(await storedFor(env.stack.db, raw), { messages: 0, inbound: [] });
  });
});
