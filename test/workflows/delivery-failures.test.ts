// When the smarthost says no: 4xx retried by durable timers, 5xx recorded for bounce processing, drops survived.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { addresses, bounceEvents, copiesPerAddress, inState, ledger, waitUntilListed, watchPost } from '../helpers/post-status.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { createList, post, queuedId, startStack, subscribe, type Stack } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

describe('delivery failures', () => {
  let recorder: SmtpRecorder;
  let stack: Stack;
  before(async () => {
    recorder = await startSmtpRecorder();
    stack = await startStack({ smarthost: recorder.url });
  });
  afterEach(() => {
    recorder.faults = {};
  });
  after(async () => {
    await stack.stop();
    await recorder.close();
  });

  /** Creates a list with these settings and members, and posts to it as its first member. */
  async function postToNewList(settings: string[], members: string[]): Promise<string> {
    const list = await createList(stack.db, settings);
    await subscribe(stack.db, list, members);
    const { response } = await post(stack.smtpPort, { from: members[0] as string, to: list, subject: 'news' });
    return queuedId(response);
  }

  const copies = (members: string[]) => [...copiesPerAddress(recorder.deliveredTo(), members).values()];

  it('keeps a member whose server answers RCPT 450 pending, retries after the wait, and delivers once the fault clears', async () => {
    const members = addresses(5, uniqueName('busy'));
    const busy = members[2] as string;
    recorder.faults = { rcpt: { [busy]: 450 } };
    const id = await postToNewList(['delivery_retry_wait_seconds=1', 'delivery_retry_max_wait_seconds=1'], members);

    // A second round has run and failed again for the busy member only.
    const { status: waiting } = await watchPost(
      stack.client,
      id,
      (s) => s.state === 'delivering' && s.deliveryRounds >= 2 && s.nextRetryAt !== null,
      'a second delivery round',
    );
    assert.deepEqual(waiting.delivery, { total: 5, sent: 4, failed: 0, pending: 1 });
    const row = (await ledger(stack.db, id)).find((r) => r.recipient === busy);
    assert.equal(row?.status, 'pending');
    assert.equal(row?.lastCode, 450);
    assert.ok((row?.attempts ?? 0) >= 2, `the busy member was tried at least twice (${row?.attempts})`);
    assert.deepEqual(copies(members), [1, 1, 0, 1, 1], 'the others are sent, the busy member not yet');

    recorder.faults = {};
    const { status } = await watchPost(stack.client, id, inState('delivered'), 'delivered', 20_000);
    assert.deepEqual(status.delivery, { total: 5, sent: 5, failed: 0, pending: 0 });
    assert.deepEqual(copies(members), [1, 1, 1, 1, 1], 'every member once: the others were not sent again');
    assert.deepEqual(await bounceEvents(stack.db, id), []);
  });

  it('marks a member refused with RCPT 550 as failed, records a bounce event, and sends to the others', async () => {
    const members = addresses(5, uniqueName('gone'));
    const gone = members[3] as string;
    recorder.faults = { rcpt: { [gone]: 550 } };
    const id = await postToNewList(['delivery_mode=per-recipient'], members);

    const { status } = await watchPost(stack.client, id, inState('delivered'), 'delivered');
    assert.deepEqual(status.delivery, { total: 5, sent: 4, failed: 1, pending: 0 });
    assert.equal(status.deliveryRounds, 1, 'a permanent failure is not retried');
    const rows = await ledger(stack.db, id);
    assert.deepEqual(
      rows.map((r) => [r.recipient, r.status]),
      members.map((m) => [m, m === gone ? 'failed' : 'sent']),
    );
    assert.equal(rows.find((r) => r.recipient === gone)?.lastCode, 550);
    const bounces = await bounceEvents(stack.db, id);
    assert.equal(bounces.length, 1);
    assert.equal(bounces[0]?.recipient, gone);
    assert.equal(bounces[0]?.source, 'delivery');
    assert.equal(bounces[0]?.code, 550);
    assert.match(bounces[0]?.reason ?? '', /no such user/);
    assert.deepEqual(copies(members), [1, 1, 1, 0, 1]);
  });

  it('retries the whole transaction after a 451 at the end of DATA and delivers it once', async () => {
    const members = addresses(3, uniqueName('data451'));
    recorder.faults = { data: { code: 451, times: 1 } };
    const id = await postToNewList(['delivery_retry_wait_seconds=1'], members);

    const { status } = await watchPost(stack.client, id, inState('delivered'), 'delivered', 20_000);
    assert.equal(recorder.faults.data?.times, 0, 'the recorder refused one transaction');
    assert.deepEqual(status.delivery, { total: 3, sent: 3, failed: 0, pending: 0 });
    assert.equal(status.deliveryRounds, 2, 'one retry round');
    for (const row of await ledger(stack.db, id)) {
      assert.equal(row.status, 'sent');
      assert.equal(row.attempts, 2, `${row.recipient}: deferred once, then sent`);
    }
    assert.deepEqual(copies(members), [1, 1, 1]);
  });

  it('survives the smarthost dropping the connection mid-batch: every member is delivered', async () => {
    const members = addresses(6, uniqueName('drop'));
    recorder.faults = { dropAfter: 2 };
    const id = await postToNewList(['delivery_mode=per-recipient', 'delivery_retry_wait_seconds=1'], members);

    const { status } = await watchPost(stack.client, id, inState('delivered'), 'delivered', 20_000);
    assert.equal(recorder.faults.dropAfter, undefined, 'the recorder dropped a connection');
    assert.deepEqual(status.delivery, { total: 6, sent: 6, failed: 0, pending: 0 });
    assert.ok(status.deliveryRounds >= 2, 'the dropped recipient was retried in a later round');
    const retried = (await ledger(stack.db, id)).filter((r) => r.attempts > 1);
    assert.ok(retried.length >= 1, 'the ledger shows the retried recipient');
    for (const [address, n] of copiesPerAddress(recorder.deliveredTo(), members)) {
      // The dropped transaction never reached the recorder's mailbox, so nothing is doubled.
      assert.equal(n, 1, `${address} received ${n} copies`);
    }
  });

  it('gives up on a member still failing temporarily when the retry period is over, and finishes the post', async () => {
    const members = addresses(3, uniqueName('expire'));
    const stuck = members[1] as string;
    recorder.faults = { rcpt: { [stuck]: 450 } };
    const id = await postToNewList(['delivery_retry_days=0'], members);

    const { status } = await watchPost(stack.client, id, inState('delivered'), 'delivered');
    assert.deepEqual(status.delivery, { total: 3, sent: 2, failed: 1, pending: 0 });
    assert.equal(status.nextRetryAt, null);
    const row = (await ledger(stack.db, id)).find((r) => r.recipient === stuck);
    assert.equal(row?.status, 'failed');
    assert.match(row?.lastResponse ?? '', /^retry period expired: .*4\.2\.1 mailbox busy/);
    const bounces = await bounceEvents(stack.db, id);
    assert.deepEqual(
      bounces.map((b) => [b.recipient, b.source]),
      [[stuck, 'delivery']],
    );
    assert.match(bounces[0]?.reason ?? '', /retry period ended/);
    assert.deepEqual(copies(members), [1, 0, 1]);
    await waitUntilListed(stack.client, id, "ListflowState = 'delivered'");
  });
});
