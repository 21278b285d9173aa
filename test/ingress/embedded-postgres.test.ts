// The embedded database: a post goes end to end on the embedded PostgreSQL, and a restart keeps lists and members.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getList } from '../../store/lists.js';
import { listMembers } from '../../store/members.js';
import { startEmbeddedDatabase } from '../helpers/embedded.js';
import { buildMessage, deliver, expectedWorkflowId, freePort, storedFor } from '../helpers/ingress.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { createList, startStack, subscribe, waitForState } from '../helpers/stack.js';

describe('ingress on the embedded database (PostgreSQL)', () => {
  let recorder: SmtpRecorder;
  let dataDir: string;
  before(async () => {
    recorder = await startSmtpRecorder();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-test-embedded-'));
  });
  after(async () => {
    await recorder.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers a member post to every member, and a restart keeps the list and its members', async () => {
    const members = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
    let list: string;
    let raw: Buffer;

    const first = await startEmbeddedDatabase(dataDir);
    assert.match(first.url, new RegExp(`^postgresql://listflow:[^@]+@127\\.0\\.0\\.1:${first.config.postgresListen.port}/`));
    try {
      const stack = await startStack({ smarthost: recorder.url, database: first });
      try {
        list = await createList(stack.db);
        await subscribe(stack.db, list, members);
        raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'on the embedded server' });
        const report = await deliver(stack.smtpPort, { from: 'alice@example.com', to: [list], raw });
        const id = expectedWorkflowId('post', list, raw);
        assert.equal(report.response, `250 2.0.0 queued as ${id}`);
        const status = await waitForState(stack.client, id, ['delivered']);
        assert.deepEqual(status.delivery, { total: 3, sent: 3, failed: 0, pending: 0 });
        const copies = recorder.received.filter((r) => r.raw.includes('on the embedded server'));
        assert.deepEqual(copies.flatMap((r) => r.to).sort(), members);
      } finally {
        await stack.stop();
      }
    } finally {
      await first.drop();
    }

    const second = await startEmbeddedDatabase(dataDir);
    try {
      const reopened = await getList(second.db, list);
      assert.ok(reopened, `${list} survived the restart`);
      const roster = await listMembers(second.db, reopened.id, 'member');
      assert.deepEqual(roster.map((m) => m.address).sort(), members);
      assert.deepEqual(await storedFor(second.db, raw), { messages: 1, inbound: [{ workflowId: expectedWorkflowId('post', list, raw), started: true }] });
    } finally {
      await second.drop();
    }
  });
});
