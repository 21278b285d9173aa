// Idempotent start: the same bytes again name the same workflow and start no second run; one message to two lists is stored once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { buildMessage, deliver, expectedWorkflowId, storedFor } from '../helpers/ingress.js';
import { createList, subscribe, useStack, waitForState } from '../helpers/stack.js';

/** Every run Temporal's visibility knows under this workflow ID, once the newest shows as closed (visibility lags). */
async function closedRuns(client: Client, workflowId: string, timeoutMs = 30_000): Promise<WorkflowExecutionInfo[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs: WorkflowExecutionInfo[] = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(run);
    if (runs.length > 0 && runs.every((r) => r.status.name !== 'RUNNING')) return runs;
    if (Date.now() > deadline) throw new Error(`visibility did not show ${workflowId} closed within ${timeoutMs} ms (${runs.length} runs)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('ingress idempotence', () => {
  const env = useStack();

  it('gives the same bytes sent twice the same workflow ID and only one run, even after the first finished', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['alice@example.com', 'bob@example.com']);
    const raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'sent twice' });
    const first = await deliver(env.stack.smtpPort, { from: 'alice@example.com', to: [list], raw });
    const id = expectedWorkflowId('post', list, raw);
    assert.equal(first.response, `250 2.0.0 queued as ${id}`);
    await waitForState(env.stack.client, id, ['delivered']);
    const { runId } = await env.stack.client.workflow.getHandle(id).describe();

    // A client that lost the first 250 sends the same bytes again.
    const second = await deliver(env.stack.smtpPort, { from: 'alice@example.com', to: [list], raw });
    assert.equal(second.response, first.response);
    assert.equal((await env.stack.client.workflow.getHandle(id).describe()).runId, runId, 'no new run was started');
    const runs = await closedRuns(env.stack.client, id);
    assert.deepEqual(runs.map((r) => r.runId), [runId]);
    assert.deepEqual(await storedFor(env.stack.db, raw), { messages: 1, inbound: [{ workflowId: id, started: true }] });
    const copies = env.recorder.received.filter((r) => r.raw.includes('sent twice'));
    assert.deepEqual(copies.flatMap((r) => r.to).sort(), ['alice@example.com', 'bob@example.com']);
  });

  it('stores a message to two lists in one transaction once and starts a workflow for each list', async () => {
    const dev = await createList(env.stack.db, [], 'dev');
    const users = await createList(env.stack.db, [], 'users');
    await subscribe(env.stack.db, dev, ['carol@example.com', 'dan@example.com']);
    await subscribe(env.stack.db, users, ['carol@example.com', 'erin@example.com']);
    const raw = await buildMessage({ from: 'carol@example.com', to: [dev, users], subject: 'cross-posted' });
    const report = await deliver(env.stack.smtpPort, { from: 'carol@example.com', to: [dev, users], raw });
    assert.deepEqual(report.accepted, [dev, users]);
    assert.match(report.response, /^250 /);

    const ids = [expectedWorkflowId('post', dev, raw), expectedWorkflowId('post', users, raw)].sort();
    const stored = await storedFor(env.stack.db, raw);
    assert.equal(stored.messages, 1, 'one copy of the bytes in messages');
    assert.deepEqual(stored.inbound, ids.map((workflowId) => ({ workflowId, started: true })));
    for (const id of ids) {
      const description = await env.stack.client.workflow.getHandle(id).describe();
      assert.equal(description.type, 'postWorkflow');
      await waitForState(env.stack.client, id, ['delivered']);
    }
    // Each list's members get that list's copy.
    const recipientsOf = (list: string) =>
      env.recorder.received
        .filter((r) => r.raw.includes('cross-posted') && r.raw.includes(`<${list.replace('@', '.')}>`))
        .flatMap((r) => r.to)
        .sort();
    assert.deepEqual(recipientsOf(dev), ['carol@example.com', 'dan@example.com']);
    assert.deepEqual(recipientsOf(users), ['carol@example.com', 'erin@example.com']);
  });

  it('starts one workflow when the same list is named twice in one transaction', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['frank@example.com']);
    const raw = await buildMessage({ from: 'frank@example.com', to: list, subject: 'named twice' });
    const report = await deliver(env.stack.smtpPort, { from: 'frank@example.com', to: [list, list.toUpperCase()], raw });
    const id = expectedWorkflowId('post', list, raw);
    assert.match(report.response, /^250 /);
    assert.deepEqual(await storedFor(env.stack.db, raw), { messages: 1, inbound: [{ workflowId: id, started: true }] });
    await waitForState(env.stack.client, id, ['delivered']);
    assert.equal(env.recorder.received.filter((r) => r.raw.includes('named twice')).length, 1);
  });
});
