// Sending a digest issue is idempotent per member: a retried attempt (after a temporary failure) sends the
// issue only to the members still pending, with the same bytes, over real SMTP into a recording server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDigestOutboundActivities } from '../../activities/digest.js';
import { createSmtpTransport, type SmtpTransport } from '../../activities/smtp.js';
import { createList } from '../../store/lists.js';
import { addMembers, setDeliveryMode } from '../../store/members.js';
import { putMessage } from '../../store/messages.js';
import type { DigestPostRef } from '../../workflows/messages.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { headerOf } from '../helpers/digest.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';

describe('sending a digest issue', () => {
  let database: TestDatabase;
  let recorder: SmtpRecorder;
  let transport: SmtpTransport;
  const list = 'retry@lists.example';
  const [m1, m2, p1] = ['m1@x.example', 'm2@x.example', 'p1@x.example'];
  const posts: DigestPostRef[] = [];

  before(async () => {
    database = await createTestDatabase();
    recorder = await startSmtpRecorder();
    transport = createSmtpTransport(recorder.url, 1, 'listflow.test');
    const id = (await createList(database.db, list)).id;
    await addMembers(database.db, id, [m1, m2, p1, 'regular@x.example']);
    await setDeliveryMode(database.db, id, m1, 'mime_digest');
    await setDeliveryMode(database.db, id, m2, 'mime_digest');
    await setDeliveryMode(database.db, id, p1, 'plain_digest');
    for (const seq of [1, 2]) {
      const raw = Buffer.from(`From: a@x.example\r\nTo: ${list}\r\nSubject: post ${seq}\r\nMessage-ID: <p${seq}@x>\r\n\r\nbody ${seq}\r\n`);
      const sha256 = await putMessage(database.db, raw);
      const workflowId = `post/${list}/${String(seq).padStart(16, '0')}`;
      await database.db.query('INSERT INTO posts (workflow_id, list_id, seq, decorated_sha256) VALUES ($1, $2, $3, $4)', [workflowId, id, seq, sha256]);
      posts.push({ workflowId, seq, sha256, subject: `post ${seq}`, author: 'a@x.example', size: raw.length, acceptedAt: new Date().toISOString() });
    }
  });
  after(async () => {
    transport.close();
    await recorder.close();
    await database.drop();
  });

  it('retries only the members a temporary failure left pending, with the bytes of the first attempt', async () => {
    const { sendDigestIssue } = createDigestOutboundActivities({ db: database.db, transport, publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test' });
    const input = { list, volume: 1, number: 1, posts };
    recorder.faults.rcpt = { [m2]: 451 };
    await assert.rejects(new MockActivityEnvironment().run(sendDigestIssue, input), /1 recipient\(s\) deferred/);
    const firstMime = recorder.received.find((r) => r.to.includes(m1));
    assert.ok(firstMime, 'm1 got the MIME issue on the first attempt');
    assert.deepEqual(firstMime.to, [m1]);
    assert.equal(recorder.received.filter((r) => r.to.includes(p1)).length, 1, 'the plain member got it too');

    recorder.faults.rcpt = {};
    const result = await new MockActivityEnvironment().run(sendDigestIssue, input);
    assert.deepEqual(result, { posts: 2, recipients: 3, sent: 3, failed: 0 });
    const to = recorder.received.flatMap((r) => r.to);
    assert.deepEqual(to.sort(), [m1, m2, p1].sort(), 'each digest member exactly once; the regular member never');
    const retried = recorder.received.find((r) => r.to.includes(m2));
    assert.ok(retried?.raw.equals(firstMime.raw), 'the retry sends the issue as composed the first time');
    assert.equal(headerOf(retried!.raw, 'X-Listflow-Digest'), '1/1');

    // A third attempt (a retry after the last send was recorded) sends nothing.
    await new MockActivityEnvironment().run(sendDigestIssue, input);
    assert.equal(recorder.received.length, 3);
  });

  it('leaves out posts an earlier issue carried, and sends no issue when none is left', async () => {
    const { sendDigestIssue } = createDigestOutboundActivities({ db: database.db, transport, publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test' });
    const before = recorder.received.length;
    const r = await new MockActivityEnvironment().run(sendDigestIssue, { list, volume: 1, number: 2, posts });
    assert.deepEqual(r, { posts: 0, recipients: 0, sent: 0, failed: 0 });
    assert.equal(recorder.received.length, before);
  });
});
