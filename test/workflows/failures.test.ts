// Failures that end instead of spinning: a post, a -request and a bounce whose stored message is gone end `failed`
// at once, with the reason in their status and in visibility, are listed by `listflow failed`, and the owners
// get exactly one notice each; a transient database error is retried, not failed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { workflowIdFor } from '../../mail/ids.js';
import { putMessage, sha256Hex } from '../../store/messages.js';
import { failureReason } from '../../workflows/failure.js';
import {
  bounceTaskQueueOf,
  initialAttributes,
  mailStatusQuery,
  statusQuery,
  type InboundMail,
  type MailKind,
  type MailStatus,
} from '../../workflows/messages.js';
import type { Context } from '../../cli/context.js';
import { failed, type FailedRow } from '../../cli/failed.js';
import { renderPost } from '../../cli/status.js';
import { mailFor } from '../helpers/read-mail.js';
import type { Received } from '../helpers/smtp-recorder.js';
import { createList, subscribe, useStack, waitForState, type Stack } from '../helpers/stack.js';

const OWNER = 'owner@owners.example';
const TYPES: Record<MailKind, string> = { post: 'postWorkflow', request: 'requestWorkflow', owner: 'ownerWorkflow', bounce: 'bounceWorkflow', confirm: 'confirmWorkflow' };

/** Starts a workflow as ingress would, for a message by its hash (which need not be in the store). */
async function startFor(stack: Stack, kind: MailKind, list: string, sha256: string, rcptTo: string): Promise<string> {
  const workflowId = workflowIdFor(kind, list, sha256);
  const mail: InboundMail = { list, sha256, envelopeFrom: 'someone@elsewhere.example', rcptTo, receivedAt: new Date().toISOString(), clientIp: '127.0.0.1', helo: 'client.example' };
  await stack.client.workflow.start(TYPES[kind], {
    workflowId,
    taskQueue: kind === 'bounce' ? bounceTaskQueueOf(stack.taskQueue) : stack.taskQueue,
    args: [mail, { deliveryTaskQueue: stack.deliveryTaskQueue, parallelBatches: 4 }],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: initialAttributes(list, kind, mail.envelopeFrom),
  });
  return workflowId;
}

const missingSha = () => sha256Hex(randomBytes(32));
const noticesAbout = (received: Received[], workflowId: string) =>
  mailFor(received, OWNER).filter((m) => m.text.includes(`Reference: ${workflowId}`) && /^A \w+ to \S+ failed: /.test(m.subject));

/**
 * `listflow failed <list> --json`, run in this process on the stack's client (the command's own code, given a
 * context as cli/main.ts gives it one), until it lists the workflow: visibility is eventually consistent.
 */
async function listedAsFailed(stack: Stack, list: string, workflowId: string): Promise<FailedRow> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    let out = '';
    const ctx = {
      out: (text: string) => void (out += text),
      temporal: async () => ({ client: stack.client, connection: stack.client.connection }),
    } as unknown as Context; // the command uses only out() and temporal()
    await failed(ctx, list, { json: true });
    const row = (JSON.parse(out) as FailedRow[]).find((x) => x.workflowId === workflowId);
    if (row) return row;
    if (Date.now() > deadline) throw new Error(`listflow failed did not list ${workflowId}: ${out}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

async function visibleState(client: Client, workflowId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `ListflowState='failed' AND WorkflowId='${workflowId}'` })) ids.push(wf.workflowId);
  return ids;
}

describe('the reason a failed workflow records', () => {
  it('is one line: type, message and activity, control characters removed, at most 200 characters', () => {
    const inner = ApplicationFailure.create({ message: 'bad\r\nSubject: injected\u0000 line', type: 'MalformedMessage', nonRetryable: true });
    const err = new ActivityFailure('activity failed', 'acceptPost', '1', RetryState.NON_RETRYABLE_FAILURE, undefined, inner);
    assert.equal(failureReason(err), 'MalformedMessage: bad Subject: injected line (acceptPost)');
    // A local activity's failure comes without its name; the permanent failure carries it in its details.
    assert.equal(failureReason(ApplicationFailure.create({ message: 'gone', type: 'MessageMissing', details: ['classifyPost'] })), 'MessageMissing: gone (classifyPost)');
    const long = failureReason(ApplicationFailure.create({ message: 'x'.repeat(500), type: 'T' }));
    assert.equal(long.length, 200);
    assert.ok(long.endsWith('…'));
  });
});

describe('failures that end instead of spinning', () => {
  const env = useStack();

  it('a post whose stored message is missing ends failed at once, says why, is listed, and the owners get one notice', async () => {
    const list = await createList(env.stack.db, [], 'failing');
    await subscribe(env.stack.db, list, [OWNER], 'owner');
    await subscribe(env.stack.db, list, ['ann@members.example']);
    const started = Date.now();
    const id = await startFor(env.stack, 'post', list, missingSha(), list);
    const handle = env.stack.client.workflow.getHandle(id);
    // The workflow completes (it does not fail): its result is the final status.
    const result = await handle.result();
    const took = Date.now() - started;
    assert.equal(result.state, 'failed');
    assert.match(result.failure ?? '', /^MessageMissing: message [0-9a-f]{16} is not in the store \(classifyPost\)$/);
    assert.ok(took < 15_000, `ended in ${took} ms, not after retries`);
    assert.ok(result.notices.some((n: string) => n === `owners (failed): sent to ${OWNER}`), result.notices.join('; '));
    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'failed');
    assert.equal(status.failure, result.failure);

    assert.equal(noticesAbout(env.recorder.received, id).length, 1, 'exactly one notice to the owners');
    const row = await listedAsFailed(env.stack, list, id);
    assert.equal(row.kind, 'post');
    assert.equal(row.reason, result.failure);
    // What an operator types: temporal workflow list --query "ListflowState='failed'".
    assert.deepEqual(await visibleState(env.stack.client, id), [id]);
    // What `listflow status <id>` prints of it.
    assert.match(renderPost(status), /^\s*state\s+failed: MessageMissing: message [0-9a-f]{16} is not in the store \(classifyPost\)$/m);
  });

  it('a -request whose stored message is missing ends failed, is listed, and the owners get one notice', async () => {
    const list = await createList(env.stack.db, [], 'failing');
    await subscribe(env.stack.db, list, [OWNER], 'owner');
    const request = list.replace('@', '-request@');
    const id = await startFor(env.stack, 'request', list, missingSha(), request);
    const result = (await env.stack.client.workflow.getHandle(id).result()) as MailStatus;
    assert.equal(result.state, 'failed');
    assert.match(result.detail, /^MessageMissing: message [0-9a-f]{16} is not in the store \(readCommands\); owners \(failed\): sent to owner@owners\.example$/);
    assert.equal((await env.stack.client.workflow.getHandle(id).query(mailStatusQuery)).state, 'failed');
    assert.equal(noticesAbout(env.recorder.received, id).length, 1);
    assert.equal((await listedAsFailed(env.stack, list, id)).kind, 'request');
  });

  it('a bounce whose stored message is missing ends failed, is listed, and the owners get one notice', async () => {
    const list = await createList(env.stack.db, [], 'failing');
    await subscribe(env.stack.db, list, [OWNER], 'owner');
    const id = await startFor(env.stack, 'bounce', list, missingSha(), list.replace('@', '-bounces@'));
    const result = (await env.stack.client.workflow.getHandle(id).result()) as MailStatus;
    assert.equal(result.state, 'failed');
    assert.match(result.detail, /^MessageMissing: message [0-9a-f]{16} is not in the store( \(processInboundBounce\))?; owners \(failed\): sent to owner@owners\.example$/);
    assert.equal(noticesAbout(env.recorder.received, id).length, 1);
    assert.equal((await listedAsFailed(env.stack, list, id)).kind, 'bounce');
  });

  it('a transient database error is retried with back-off, and the post is delivered', async () => {
    const list = await createList(env.stack.db, [], 'flaky');
    await subscribe(env.stack.db, list, [OWNER], 'owner');
    await subscribe(env.stack.db, list, ['ann@members.example']);
    const raw = Buffer.from(`From: ann@members.example\r\nTo: ${list}\r\nSubject: through a database hiccup\r\nMessage-ID: <${randomBytes(6).toString('hex')}@members.example>\r\n\r\nHello.\r\n`);
    const sha = await putMessage(env.stack.db, raw);
    // The message table is away for a moment: every read fails with "relation does not exist", as in a failover.
    await env.stack.db.query('ALTER TABLE messages RENAME TO messages_away');
    let id: string;
    try {
      id = await startFor(env.stack, 'post', list, sha, list);
      await new Promise((res) => setTimeout(res, 3500));
    } finally {
      await env.stack.db.query('ALTER TABLE messages_away RENAME TO messages');
    }
    const status = await waitForState(env.stack.client, id, ['delivered', 'failed'], 60_000);
    assert.equal(status.state, 'delivered', status.failure);
    assert.equal(status.failure, undefined);
    // classifyPost (a local activity) took more than one attempt: its marker records them.
    const history = JSON.parse(historyToJSON(await env.stack.client.workflow.getHandle(id).fetchHistory())) as {
      events: { markerRecordedEventAttributes?: { markerName: string; details?: Record<string, { payloads?: { data?: string }[] }> } }[];
    };
    const attempts = history.events.flatMap((e) => {
      const m = e.markerRecordedEventAttributes;
      const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0]?.data : undefined;
      if (!data) return [];
      const d = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { activityType?: string; activity_type?: string; attempt: number };
      return [{ type: d.activityType ?? d.activity_type, attempt: d.attempt }];
    });
    const classify = attempts.find((a) => a.type === 'classifyPost');
    assert.ok(classify && classify.attempt > 1, `classifyPost was retried: ${JSON.stringify(attempts)}`);
    assert.equal(noticesAbout(env.recorder.received, id).length, 0, 'no failure notice');
  });
});
