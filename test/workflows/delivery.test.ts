// Fan-out as the smarthost sees it: bulk transactions from the bounce address, or one VERP transaction per member.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listSubAddress } from '../../mail/address.js';
import { getList } from '../../store/lists.js';
import { listMembers } from '../../store/members.js';
import { addresses, copiesPerAddress, inState, ledger, waitUntilListed, watchPost } from '../helpers/post-status.js';
import { createList, post, queuedId, subscribe, useStack } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

describe('delivery of an accepted post', () => {
  const env = useStack();

  it('in bulk mode sends batches of bulk_max_recipients from the list bounce address, each member once', async () => {
    const list = await createList(env.stack.db, ['bulk_max_recipients=2']);
    const members = addresses(5, uniqueName('bulk'));
    await subscribe(env.stack.db, list, members);
    const { response } = await post(env.stack.smtpPort, { from: members[0] as string, to: list, subject: 'bulk fan-out' });
    const id = queuedId(response);

    const { status, states } = await watchPost(env.stack.client, id, inState('delivered'), 'delivered');
    assert.deepEqual(status.delivery, { total: 5, sent: 5, failed: 0, pending: 0 });
    assert.equal(status.list, list);
    assert.equal(status.sender, members[0]);
    assert.equal(status.subject, 'bulk fan-out');
    assert.equal(status.decision.action, 'accept');
    assert.ok(status.seq !== null && status.seq >= 1, 'the post has a list sequence number');
    assert.equal(states.at(-1), 'delivered');

    const mine = env.recorder.received.filter((r) => r.to.some((t) => members.includes(t.toLowerCase())));
    assert.deepEqual(
      mine.map((r) => r.to.length).sort(),
      [1, 2, 2],
      'five members in transactions of at most two recipients',
    );
    for (const r of mine) assert.equal(r.from, listSubAddress(list, 'bounces'));
    assert.deepEqual([...copiesPerAddress(env.recorder.deliveredTo(), members).values()], [1, 1, 1, 1, 1]);
    assert.ok((await ledger(env.stack.db, id)).every((row) => row.status === 'sent' && row.lastCode === 250));

    await waitUntilListed(env.stack.client, id, "ListflowState = 'delivered'");
  });

  it('in per-recipient mode sends one transaction per member with a VERP return path naming the member', async () => {
    const list = await createList(env.stack.db, ['delivery_mode=per-recipient']);
    const members = addresses(4, uniqueName('verp'));
    await subscribe(env.stack.db, list, members);
    const { response } = await post(env.stack.smtpPort, { from: members[1] as string, to: list, subject: 'personal copies' });
    const id = queuedId(response);

    const { status } = await watchPost(env.stack.client, id, inState('delivered'), 'delivered');
    assert.deepEqual(status.delivery, { total: 4, sent: 4, failed: 0, pending: 0 });

    const listRow = await getList(env.stack.db, list);
    assert.ok(listRow);
    const tokens = new Map((await listMembers(env.stack.db, listRow.id, 'member')).map((m) => [m.address.toLowerCase(), m.verpToken]));
    const mine = env.recorder.received.filter((r) => r.to.some((t) => members.includes(t.toLowerCase())));
    assert.equal(mine.length, 4, 'one transaction per member');
    for (const r of mine) {
      assert.equal(r.to.length, 1);
      const to = (r.to[0] as string).toLowerCase();
      const token = tokens.get(to);
      assert.ok(token, `a token for ${to}`);
      assert.equal(r.from, listSubAddress(list, 'bounces', token));
    }
    assert.deepEqual([...copiesPerAddress(env.recorder.deliveredTo(), members).values()], [1, 1, 1, 1]);

    await waitUntilListed(env.stack.client, id, "ListflowState = 'delivered'");
  });
});
