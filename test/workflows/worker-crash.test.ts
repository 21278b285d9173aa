// A worker process killed in the middle of a fan-out: a new one finishes it, and only in-flight transactions repeat.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startChildWorkers } from '../helpers/child-workers.js';
import { addresses, copiesPerAddress, inState, ledger, watchPost } from '../helpers/post-status.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { createList, post, queuedId, startStack, subscribe, type Stack } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

/** The stack's ingress runs each post's batches this many at a time (startStack's parallelBatches). */
const PARALLEL_BATCHES = 4;

describe('a worker killed in the middle of a fan-out', () => {
  let recorder: SmtpRecorder;
  let stack: Stack;
  before(async () => {
    recorder = await startSmtpRecorder();
    // Ingress here; the workers run in child processes this test kills.
    stack = await startStack({ smarthost: recorder.url, workers: false });
  });
  after(async () => {
    await stack.stop();
    await recorder.close();
  });

  interface Crash {
    settings: string[];
    members: number;
    smtpConnections: number;
    delayMs: number;
    /** Kill once the recorder has taken this many copies. */
    killAfter: number;
    /** The most copies that may be sent twice: every transaction that can be in flight. */
    bound: number;
  }

  async function crashMidFanOut(t: TestContext, c: Crash): Promise<void> {
    const members = addresses(c.members, uniqueName('crash'));
    const list = await createList(stack.db, c.settings);
    await subscribe(stack.db, list, members);
    const childOptions = {
      databaseUrl: stack.database.url,
      smarthost: recorder.url,
      taskQueue: stack.taskQueue,
      deliveryTaskQueue: stack.deliveryTaskQueue,
      smtpConnections: c.smtpConnections,
    };
    const delivered = () => copiesPerAddress(recorder.deliveredTo(), members);
    const copiesSoFar = () => [...delivered().values()].reduce((a, b) => a + b, 0);

    recorder.faults = { delayMs: c.delayMs };
    const first = await startChildWorkers(childOptions);
    let second: Awaited<ReturnType<typeof startChildWorkers>> | undefined;
    try {
      const { response } = await post(stack.smtpPort, { from: members[0] as string, to: list, subject: 'survives a crash' });
      const id = queuedId(response);
      await recorder.waitFor(() => copiesSoFar() >= c.killAfter, 60_000);
      await first.kill();
      const atKill = copiesSoFar();
      assert.ok(atKill < c.members, `the kill came too late to be mid-fan-out (${atKill} of ${c.members} copies already out)`);

      const started = Date.now();
      second = await startChildWorkers(childOptions);
      const { status } = await watchPost(stack.client, id, inState('delivered'), 'delivered after the crash', 90_000);
      const recoveredMs = Date.now() - started;

      assert.deepEqual(status.delivery, { total: c.members, sent: c.members, failed: 0, pending: 0 });
      assert.ok((await ledger(stack.db, id)).every((r) => r.status === 'sent'), 'the ledger has every member sent');
      const counts = delivered();
      for (const [address, n] of counts) assert.ok(n >= 1, `${address} never received the post`);
      const twice = [...counts].filter(([, n]) => n > 1);
      const duplicates = [...counts.values()].reduce((a, b) => a + b, 0) - c.members;
      t.diagnostic(
        `${c.settings.join(' ')}: killed with ${atKill}/${c.members} copies out; finished ${Math.round(recoveredMs / 1000)} s after the restart; ` +
          `${duplicates} duplicate copies (bound ${c.bound})${twice.length ? `: ${twice.map(([a, n]) => `${a}×${n}`).join(', ')}` : ''}`,
      );
      assert.ok(duplicates <= c.bound, `${duplicates} duplicates, more than the ${c.bound} transactions' worth that can be in flight`);
      assert.ok(twice.every(([, n]) => n === 2), 'nobody received more than two copies');
    } finally {
      recorder.faults = {};
      await first.kill();
      await second?.stop();
    }
  }

  it('per-recipient: every member gets the post, at most one copy more per pooled SMTP connection', async (t) => {
    await crashMidFanOut(t, {
      settings: ['delivery_mode=per-recipient'],
      members: 40,
      smtpConnections: 3,
      delayMs: 150,
      killAfter: 9,
      // One transaction per connection in flight, one recipient each.
      bound: 3,
    });
  });

  it('bulk: every member gets the post, at most one transaction of recipients more per parallel batch', async (t) => {
    await crashMidFanOut(t, {
      settings: ['bulk_max_recipients=4'],
      members: 24,
      smtpConnections: 4,
      delayMs: 800,
      killAfter: 4,
      bound: PARALLEL_BATCHES * 4,
    });
  });
});
