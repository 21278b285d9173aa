// The ledger's group commit: outcomes recorded together land as if written one by one, and one the database refuses fails alone.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLedgerWriter } from '../../activities/ledger.js';
import type { Outcome } from '../../activities/smtp.js';
import { snapshotRecipients } from '../../store/deliveries.js';
import { createPool, DB_TIMEOUTS } from '../../store/db.js';
import { createList } from '../../store/lists.js';
import { addMembers } from '../../store/members.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const outcome = (o: Partial<Outcome>): Outcome => ({ sent: [], failed: [], deferred: [], ...o });

describe('the delivery ledger writer', () => {
  let database: TestDatabase;
  let listId: number;
  const workflowId = 'post/ledger@lists.example/0123456789abcdef';
  const members = ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example', 'f@x.example'];

  before(async () => {
    database = await createTestDatabase();
    listId = (await createList(database.db, 'ledger@lists.example')).id;
    await addMembers(database.db, listId, members);
    // Batches of two, in address order: 0 = a, b; 1 = c, d; 2 = e, f.
    await snapshotRecipients(database.db, workflowId, listId, 2);
  });
  after(async () => {
    await database.drop();
  });

  async function rows() {
    const { rows } = await database.db.query<{ recipient: string; status: string; attempts: number; last_code: number | null }>(
      'SELECT recipient, status, attempts, last_code FROM deliveries WHERE workflow_id = $1 ORDER BY recipient',
      [workflowId],
    );
    return Object.fromEntries(rows.map((r) => [r.recipient, [r.status, r.attempts, r.last_code]]));
  }

  it('marks sent, failed and deferred recipients of several batches, and refuses only the outcome the database refuses', async () => {
    const ledger = createLedgerWriter(database.db);
    const ref = (batch: number, list: number = listId) => ({ workflowId, batch, listId: list });
    // Recorded in one tick: the first goes alone, the other three share the next transaction.
    const results = await Promise.allSettled([
      ledger.record(ref(0), outcome({ sent: ['a@x.example', 'b@x.example'] })),
      ledger.record(ref(1), outcome({ failed: [{ recipient: 'c@x.example', code: 550, response: '550 5.1.1 no such user' }] })),
      ledger.record(ref(1), outcome({ deferred: [{ recipient: 'd@x.example', code: 451, response: '451 4.3.0 try later' }] })),
      // A bounce event naming a list that does not exist violates its foreign key.
      ledger.record(ref(2, 987654321), outcome({ sent: ['e@x.example'], failed: [{ recipient: 'f@x.example', code: 550, response: '550 gone' }] })),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
    );
    assert.deepEqual(await rows(), {
      'a@x.example': ['sent', 1, 250],
      'b@x.example': ['sent', 1, 250],
      'c@x.example': ['failed', 1, 550],
      'd@x.example': ['pending', 1, 451],
      // The refused outcome left nothing behind: its batch will be sent again.
      'e@x.example': ['pending', 0, null],
      'f@x.example': ['pending', 0, null],
    });
    const { rows: bounces } = await database.db.query<{ recipient: string; code: number }>(
      'SELECT recipient, code FROM bounce_events WHERE workflow_id = $1',
      [workflowId],
    );
    assert.deepEqual(bounces, [{ recipient: 'c@x.example', code: 550 }]);
  });

  it('marks only recipients of the batch it names, and only while they are pending', async () => {
    const ledger = createLedgerWriter(database.db);
    // c is in batch 1 (and already failed); e is in batch 2, not 0.
    await ledger.record({ workflowId, batch: 0, listId }, outcome({ sent: ['c@x.example', 'e@x.example'] }));
    const after = await rows();
    assert.deepEqual(after['c@x.example'], ['failed', 1, 550]);
    assert.deepEqual(after['e@x.example'], ['pending', 0, null]);
  });
});

describe('the ledger writer when the database stops answering', () => {
  let database: TestDatabase;
  let proxy: net.Server;
  let blackhole = false;
  const sockets = new Set<net.Socket>();
  before(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    // A TCP relay to PostgreSQL that, on demand, swallows what the client sends: a server that hangs.
    proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      sockets.add(client).add(upstream);
      client.on('data', (d) => {
        if (!blackhole) upstream.write(d);
      });
      upstream.on('data', (d) => client.write(d));
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await database.drop();
  });

  it('fails a write that never returns within the client timeout, and writes again once the database answers', async () => {
    const url = new URL(database.url);
    url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const db = createPool(url.toString(), 2, { ...DB_TIMEOUTS, queryMs: 1500, connectMs: 1500 });
    try {
      const listId = (await createList(db, 'hang@lists.example')).id;
      await addMembers(db, listId, ['a@x.example', 'b@x.example']);
      const workflowId = 'post/hang@lists.example/0123456789abcdef';
      await snapshotRecipients(db, workflowId, listId, 10);
      const ledger = createLedgerWriter(db);
      const ref = { workflowId, batch: 0, listId };

      blackhole = true;
      const started = Date.now();
      await assert.rejects(ledger.record(ref, outcome({ sent: ['a@x.example'] })), /timeout/i);
      assert.ok(Date.now() - started < 10_000, 'the write failed within its bound instead of hanging');

      blackhole = false;
      await ledger.record(ref, outcome({ sent: ['b@x.example'] }));
      const { rows } = await database.db.query<{ recipient: string }>(`SELECT recipient FROM deliveries WHERE workflow_id = $1 AND status = 'sent'`, [workflowId]);
      assert.deepEqual(rows.map((r) => r.recipient), ['b@x.example'], 'the writer is not wedged: the next outcome is written');
    } finally {
      await db.end();
    }
  });
});
