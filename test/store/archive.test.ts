// Threading in the archive when replies are filed before their parents, and when References go round in a circle.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { archiveFacts } from '../../mail/archive.js';
import { messageIdHash } from '../../mail/links.js';
import { fileMessage } from '../../store/archive.js';
import { createList } from '../../store/lists.js';
import { putMessage } from '../../store/messages.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { uniqueName } from '../helpers/temporal.js';

function message(id: string, subject: string, headers = ''): Buffer {
  return Buffer.from(`From: A <a@example.com>\r\nSubject: ${subject}\r\nDate: Mon, 5 Jan 2026 10:00:00 +0000\r\nMessage-ID: <${id}>\r\n${headers}\r\nbody of ${id}\r\n`);
}

describe('archive threading', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database.drop();
  });

  async function file(listId: number, raw: Buffer) {
    return fileMessage(database.db, { listId, sha256: await putMessage(database.db, raw), facts: await archiveFacts(raw), fallbackDate: new Date().toISOString() });
  }
  async function threads(listId: number) {
    const { rows } = await database.db.query<{ message_id: string; thread_id: string; parent: string | null }>(
      `SELECT a.message_id, a.thread_id, p.message_id AS parent FROM archive a LEFT JOIN archive p ON p.id = a.parent_id
       WHERE a.list_id = $1 ORDER BY a.message_id`,
      [listId],
    );
    return rows;
  }

  it('a parent filed after its replies adopts them, with the replies to those replies', async () => {
    const list = await createList(database.db, `${uniqueName('t')}@lists.example`);
    await file(list.id, message('r2@x', 'Re: Re: plan', 'In-Reply-To: <r1@x>\r\nReferences: <p@x> <r1@x>\r\n'));
    await file(list.id, message('r1@x', 'Re: plan', 'In-Reply-To: <p@x>\r\nReferences: <p@x>\r\n'));
    assert.deepEqual((await threads(list.id)).map((r) => [r.message_id, r.thread_id, r.parent]), [
      ['r1@x', messageIdHash('r1@x'), null],
      ['r2@x', messageIdHash('r1@x'), 'r1@x'],
    ]);
    await file(list.id, message('p@x', 'plan'));
    assert.deepEqual((await threads(list.id)).map((r) => [r.message_id, r.thread_id, r.parent]), [
      ['p@x', messageIdHash('p@x'), null],
      ['r1@x', messageIdHash('p@x'), 'p@x'],
      ['r2@x', messageIdHash('p@x'), 'r1@x'],
    ]);
  });

  it('References that name each other make one thread, not a loop', async () => {
    const list = await createList(database.db, `${uniqueName('t')}@lists.example`);
    await file(list.id, message('a@x', 'one', 'References: <b@x>\r\n'));
    await file(list.id, message('b@x', 'two', 'References: <a@x>\r\n'));
    const rows = await threads(list.id);
    assert.equal(new Set(rows.map((r) => r.thread_id)).size, 1);
    assert.ok(rows.some((r) => r.parent === null), 'the thread has a root');
  });
});
