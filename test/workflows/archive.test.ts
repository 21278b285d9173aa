// Posts delivered through the whole stack land in the archive, threaded, searchable, filed once; never files nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createArchiveActivities } from '../../activities/archive.js';
import { messageIdHash } from '../../mail/links.js';
import { searchArchive, threadOf } from '../../store/archive.js';
import { getList } from '../../store/lists.js';
import { createList, post, queuedId, sendRaw, subscribe, useStack, waitForState } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

const URL_BASE = 'http://127.0.0.1:8025';

function messageIdOf(raw: Buffer): string {
  const m = /^Message-ID:\s*<([^>]+)>/im.exec(raw.toString('latin1'));
  if (!m?.[1]) throw new Error('no Message-ID');
  return m[1];
}

describe('the archive of delivered posts', () => {
  const env = useStack();

  async function deliver(o: Parameters<typeof post>[1]) {
    const sent = await post(env.stack.smtpPort, o);
    const id = queuedId(sent.response);
    await waitForState(env.stack.client, id, ['delivered']);
    return { id, messageId: messageIdOf(sent.raw), raw: sent.raw };
  }
  async function archived(list: string) {
    const { rows } = await env.stack.db.query<{ message_id: string; seq: string | null; workflow_id: string; thread_id: string; author_address: string; sha256: string; decorated: string }>(
      `SELECT a.message_id, a.seq, a.workflow_id, a.thread_id, a.author_address, a.sha256, p.decorated_sha256 AS decorated
       FROM archive a JOIN lists l ON l.id = a.list_id LEFT JOIN posts p ON p.workflow_id = a.workflow_id WHERE l.address = $1 ORDER BY a.id`,
      [list],
    );
    return rows;
  }

  it('files each post as decorated, with its sequence number; a reply joins its parent, a broken References falls back to the subject', async () => {
    const list = await createList(env.stack.db);
    const [alice, bob] = [`${uniqueName('alice')}@example.com`, `${uniqueName('bob')}@example.com`];
    await subscribe(env.stack.db, list, [alice, bob]);

    const parent = await deliver({ from: alice, to: list, subject: 'Zeppelin maintenance window', text: 'The zeppelin hangar closes on Friday.\n' });
    const reply = await deliver({
      from: bob,
      to: list,
      subject: 'Re: Zeppelin maintenance window',
      text: 'Which hangar door?\n',
      headers: { 'In-Reply-To': `<${parent.messageId}>`, References: `<${parent.messageId}>` },
    });
    const lost = await deliver({
      from: alice,
      to: list,
      subject: 'RE: [dev] Zeppelin   maintenance window',
      text: 'The north one.\n',
      headers: { 'In-Reply-To': '<never-seen@elsewhere.example>', References: '<never-seen@elsewhere.example>' },
    });
    const other = await deliver({ from: bob, to: list, subject: 'Lunch', text: 'Pizza on the roof, the zeppelin is gone by then.\n' });

    const rows = await archived(list);
    assert.deepEqual(rows.map((r) => r.message_id), [parent.messageId, reply.messageId, lost.messageId, other.messageId]);
    assert.deepEqual(rows.map((r) => Number(r.seq)), [1, 2, 3, 4], 'the list sequence numbers');
    assert.deepEqual(rows.map((r) => r.workflow_id), [parent.id, reply.id, lost.id, other.id]);
    for (const r of rows) assert.equal(r.sha256, r.decorated, 'the decorated list-level message is what is archived');
    const root = messageIdHash(parent.messageId);
    assert.deepEqual(rows.map((r) => r.thread_id), [root, root, root, messageIdHash(other.messageId)]);

    const listRow = await getList(env.stack.db, list);
    assert.ok(listRow);
    const thread = await threadOf(env.stack.db, listRow.id, messageIdHash(lost.messageId), URL_BASE);
    assert.equal(thread.length, 3);
    assert.equal(thread[1]?.parentHash, root);

    // "zeppelin" is in the subject of three posts and the body of the fourth: subject hits rank first.
    const hits = await searchArchive(env.stack.db, listRow.id, 'zeppelin', { publicUrl: URL_BASE });
    assert.equal(hits.length, 4);
    assert.equal(hits.at(-1)?.messageId, other.messageId);
    assert.deepEqual((await searchArchive(env.stack.db, listRow.id, 'hangar door', { publicUrl: URL_BASE })).map((h) => h.messageId), [reply.messageId]);
    assert.deepEqual(
      (await searchArchive(env.stack.db, listRow.id, bob, { publicUrl: URL_BASE })).map((h) => h.messageId).sort(),
      [reply.messageId, other.messageId].sort(),
      'by author address',
    );
    assert.equal(hits[0]?.permalink, `${URL_BASE}/archive/${encodeURIComponent(list)}/${hits[0]?.messageIdHash}`);
  });

  it('files once: a retried archivePost and a second post with the same Message-ID add nothing', async () => {
    const list = await createList(env.stack.db);
    const alice = `${uniqueName('alice')}@example.com`;
    await subscribe(env.stack.db, list, [alice]);
    const first = await deliver({ from: alice, to: list, subject: 'once only' });

    const again = await createArchiveActivities({ db: env.stack.db, publicUrl: URL_BASE, hostname: 'listflow.test' }).archivePost({ workflowId: first.id, list });
    assert.deepEqual(again, { filed: false, reason: 'already archived (same post or Message-ID)', messageIdHash: messageIdHash(first.messageId), threadId: messageIdHash(first.messageId) });

    // Other bytes (so another workflow), same Message-ID: delivered, not archived twice.
    const copy = Buffer.from(first.raw.toString('latin1').replace('Subject: once only', 'Subject: once only (resent)'), 'latin1');
    const id = queuedId(await sendRaw(env.stack.smtpPort, alice, [list], copy));
    assert.notEqual(id, first.id);
    await waitForState(env.stack.client, id, ['delivered']);
    assert.deepEqual((await archived(list)).map((r) => r.workflow_id), [first.id]);
  });

  it('archive_policy=never files nothing, but the post is still delivered', async () => {
    const list = await createList(env.stack.db, ['archive_policy=never']);
    const alice = `${uniqueName('alice')}@example.com`;
    await subscribe(env.stack.db, list, [alice]);
    await deliver({ from: alice, to: list, subject: 'off the record' });
    assert.deepEqual(await archived(list), []);
  });
});
