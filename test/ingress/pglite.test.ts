// The embedded database: a post goes end to end on PGlite behind its socket server, and a restart keeps lists and members.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type Config } from '../../runtime/config.js';
import { openDatabase, startEmbeddedPostgres } from '../../runtime/database.js';
import type { Db } from '../../store/db.js';
import { getList } from '../../store/lists.js';
import { listMembers } from '../../store/members.js';
import type { TestDatabase } from '../helpers/db.js';
import { buildMessage, deliver, expectedWorkflowId, freePort, storedFor } from '../helpers/ingress.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { createList, startStack, subscribe, waitForState } from '../helpers/stack.js';

/** PGlite in `dataDir`, served on a fresh loopback port, opened and migrated like `npm start` does. */
async function startPglite(dataDir: string): Promise<TestDatabase & { config: Config }> {
  const port = await freePort();
  const config = loadConfig({ LISTFLOW_DATA_DIR: dataDir, LISTFLOW_PGLITE_LISTEN: `127.0.0.1:${port}` });
  const embedded = await startEmbeddedPostgres(config);
  let db: Db;
  try {
    db = await openDatabase(config);
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return {
    config,
    url: embedded.url,
    db,
    async drop() {
      // "drop" here means stop: the data dir is the point of the test and outlives the server.
      await db.end();
      await embedded.stop();
    },
  };
}

describe('ingress on the embedded database (PGlite)', () => {
  let recorder: SmtpRecorder;
  let dataDir: string;
  before(async () => {
    recorder = await startSmtpRecorder();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-test-pglite-'));
  });
  after(async () => {
    await recorder.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers a member post to every member, and a restart keeps the list and its members', async () => {
    const members = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
    let list: string;
    let raw: Buffer;

    const first = await startPglite(dataDir);
    assert.match(first.url, new RegExp(`^postgresql://postgres@127\\.0\\.0\\.1:${first.config.pgliteListen.port}/`));
    try {
      const stack = await startStack({ smarthost: recorder.url, database: first });
      try {
        list = await createList(stack.db);
        await subscribe(stack.db, list, members);
        raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'on pglite' });
        const report = await deliver(stack.smtpPort, { from: 'alice@example.com', to: [list], raw });
        const id = expectedWorkflowId('post', list, raw);
        assert.equal(report.response, `250 2.0.0 queued as ${id}`);
        const status = await waitForState(stack.client, id, ['delivered']);
        assert.deepEqual(status.delivery, { total: 3, sent: 3, failed: 0, pending: 0 });
        const copies = recorder.received.filter((r) => r.raw.includes('on pglite'));
        assert.deepEqual(copies.flatMap((r) => r.to).sort(), members);
      } finally {
        await stack.stop();
      }
    } finally {
      await first.drop();
    }

    const second = await startPglite(dataDir);
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
