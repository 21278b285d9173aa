// A held post nobody decides on expires after max_hold_days, on the time-skipping server, and the poster is told.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createSmtpTransport, type SmtpTransport } from '../../activities/smtp.js';
import { workflowIdFor } from '../../mail/ids.js';
import { putMessage } from '../../store/messages.js';
import { createCoreWorker, createDeliveryWorker } from '../../workers/index.js';
import { approveSignal, statusQuery, type InboundMail, type PostStatus } from '../../workflows/messages.js';
import type { postWorkflow } from '../../workflows/post.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { addresses, inState, watchPost } from '../helpers/post-status.js';
import { mailFor } from '../helpers/read-mail.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { createList, subscribe } from '../helpers/stack.js';
import { quietRuntimeDropping, uniqueName } from '../helpers/temporal.js';
import { resultWithin, startTimeSkipping } from '../helpers/time-skipping.js';

const DAY_MS = 86_400_000;

describe('a held post over days, on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let database: TestDatabase;
  let recorder: SmtpRecorder;
  let transport: SmtpTransport;
  let workers: Worker[] = [];
  let runs: Promise<void>[] = [];
  const taskQueue = uniqueName('core');
  const deliveryTaskQueue = uniqueName('delivery');

  before(async () => {
    // The unreachable poster's notice is retried for a simulated day: one expected warning per attempt.
    quietRuntimeDropping((_level, message, meta) => message === 'Activity failed' && /notice deferred for outsider-unreachable-/.test(String(meta?.error)));
    env = await startTimeSkipping();
    database = await createTestDatabase();
    recorder = await startSmtpRecorder();
    transport = createSmtpTransport(recorder.url, 2, 'listflow.test');
    const deps = { db: database.db, transport, publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test' };
    const options = { connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue, deliveryTaskQueue, deps, smtpConnections: 2, shutdownGraceTime: '1s' };
    workers = [await createCoreWorker(options), await createDeliveryWorker(options)];
    runs = workers.map((w) => w.run());
  });

  after(async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    // A worker whose activity is stuck must not hold the file open; the server's teardown ends the rest.
    await Promise.race([Promise.all(runs), new Promise((r) => setTimeout(r, 15_000).unref())]);
    transport.close();
    await recorder.close();
    await database.drop();
    await env.teardown();
  });

  /** Stores a nonmember's post and starts its workflow directly, as ingress would. */
  async function startHeldPost(list: string, outsider: string, subject: string) {
    const raw = Buffer.from(
      [
        `From: ${outsider}`,
        `To: ${list}`,
        `Subject: ${subject}`,
        `Message-ID: <${randomBytes(8).toString('hex')}@elsewhere.example>`,
        `Date: ${new Date().toUTCString()}`,
        '',
        'A question from outside the list.',
        '',
      ].join('\r\n'),
    );
    const sha256 = await putMessage(database.db, raw);
    const workflowId = workflowIdFor('post', list, sha256);
    const mail: InboundMail = { list, sha256, envelopeFrom: outsider, rcptTo: list, receivedAt: new Date().toISOString() };
    const handle = await env.client.workflow.start<typeof postWorkflow>('postWorkflow', {
      workflowId,
      taskQueue,
      args: [mail, { deliveryTaskQueue, parallelBatches: 2 }],
    });
    return { workflowId, handle };
  }

  it('is still held after 6 days, expires after max_hold_days=7, and the poster gets an expiry notice', async () => {
    const tag = uniqueName('expiry');
    const list = await createList(database.db, ['max_hold_days=7']);
    const members = addresses(2, tag);
    await subscribe(database.db, list, members);
    const outsider = `outsider-${tag}@elsewhere.example`;
    const { workflowId, handle } = await startHeldPost(list, outsider, 'anyone there?');

    const { status: held } = await watchPost(env.client, workflowId, inState('held'), 'held');
    assert.ok(held.heldUntil, 'a held post says until when');
    assert.equal(Math.round((Date.parse(held.heldUntil) - Date.parse(held.updatedAt)) / DAY_MS), 7);
    // The held notice is out before time moves, so no activity is running while days are skipped.
    await recorder.waitFor(() => mailFor(recorder.received, outsider).length === 1);
    assert.match(mailFor(recorder.received, outsider)[0]?.subject ?? '', /awaits moderator approval/);

    await env.sleep('6 days');
    const sixDaysOn = await handle.query(statusQuery);
    assert.equal(sixDaysOn.state, 'held', 'six days in, the post still waits for a moderator');
    assert.equal(sixDaysOn.decision.moderation, undefined);

    // Waiting for the result lets the server skip the remaining day.
    const final = await resultWithin<PostStatus>(handle);
    assert.equal(final.state, 'expired');
    assert.equal(final.decision.moderation?.action, 'expire');
    assert.equal(final.decision.moderation?.by, 'listflow');
    const waited = Date.parse(final.decision.moderation?.at ?? '') - Date.parse(held.updatedAt);
    assert.ok(waited >= 7 * DAY_MS && waited < 7 * DAY_MS + 3_600_000, `expired after ${(waited / DAY_MS).toFixed(3)} days`);
    assert.deepEqual(final.delivery, { total: 0, sent: 0, failed: 0, pending: 0 });

    const notices = mailFor(recorder.received, outsider);
    assert.equal(notices.length, 2, 'the held notice and the expiry notice');
    const expiry = notices[1];
    assert.match(expiry?.subject ?? '', /expired without moderation/);
    assert.match(expiry?.text ?? '', /waited 7 day\(s\) for a moderator/);
    assert.match(expiry?.text ?? '', /discarded/);
    for (const m of members) assert.deepEqual(mailFor(recorder.received, m), [], `${m} received nothing`);
  });

  it("still waits for a moderator when the poster's server refuses the held notice for days, and is delivered once approved", async () => {
    const tag = uniqueName('unreachable');
    const list = await createList(database.db, ['max_hold_days=7']);
    const members = addresses(2, tag);
    await subscribe(database.db, list, members);
    const outsider = `outsider-${tag}@elsewhere.example`;
    recorder.faults = { rcpt: { [outsider]: 450 } };
    try {
      const { workflowId, handle } = await startHeldPost(list, outsider, 'can you hear me?');
      await watchPost(env.client, workflowId, inState('held'), 'held');

      // Past the notice's one-day limit: the notice is given up, the post is not.
      await env.sleep('2 days');
      const description = await handle.describe();
      assert.equal(description.status.name, 'RUNNING', 'the post outlives its undeliverable notice');
      assert.equal((await handle.query(statusQuery)).state, 'held');

      await handle.signal(approveSignal, { by: 'moderator@owners.example' });
      const final = await resultWithin<PostStatus>(handle);
      assert.equal(final.state, 'delivered');
      assert.deepEqual(final.delivery, { total: 2, sent: 2, failed: 0, pending: 0 });
      for (const m of members) assert.equal(mailFor(recorder.received, m).length, 1, `${m} received the post`);
      assert.deepEqual(mailFor(recorder.received, outsider), [], 'the poster was never reached');
      assert.ok(
        final.notices.some((n) => /^poster \(held\): not sent .*mailbox busy/.test(n)),
        `the status says the held notice was not sent: ${JSON.stringify(final.notices)}`,
      );
    } finally {
      recorder.faults = {};
    }
  });
});
