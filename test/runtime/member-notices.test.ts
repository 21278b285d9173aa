// Welcomes and goodbyes left owed (a `members add|remove` that could not reach Temporal) go out when listflow starts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wakeOwedMemberNotices } from '../../runtime/member-notices.js';
import { getList } from '../../store/lists.js';
import { addMembers } from '../../store/members.js';
import { listsOwingNotices, removeMembersRecorded } from '../../store/subscriptions.js';
import { mailFor } from '../helpers/read-mail.js';
import { createList, subscribe, useStack } from '../helpers/stack.js';

describe('owed welcome and goodbye messages at start', () => {
  const env = useStack();

  it('finds every list that owes some and sends each owed message once', async () => {
    const { db } = env.stack;
    const owing = await createList(db, [], 'owe');
    const quiet = await createList(db, [], 'quiet');
    const leaving = 'leaving@members.example';
    await subscribe(db, owing, [leaving]);
    await subscribe(db, quiet, ['settled@members.example']);
    const list = await getList(db, owing);
    assert.ok(list);
    // As `members add` and `members remove` leave them when Temporal is unreachable.
    await addMembers(db, list.id, ['new1@members.example', 'new2@members.example'], 'member', { welcomePending: true });
    await removeMembersRecorded(db, list, [leaving], 'cli', true);

    const queues = { taskQueue: env.stack.taskQueue, deliveryTaskQueue: env.stack.deliveryTaskQueue };
    const woken = await wakeOwedMemberNotices(db, env.stack.client, queues);
    assert.ok(woken.includes(owing), `${owing} is among ${woken.join(', ')}`);
    assert.ok(!woken.includes(quiet), 'a list that owes nothing is left alone');

    const received = () => env.recorder.received;
    await env.recorder.waitFor(() => mailFor(received(), 'new1@members.example').length === 1 && mailFor(received(), 'new2@members.example').length === 1 && mailFor(received(), leaving).length === 1);
    assert.match(mailFor(received(), 'new1@members.example')[0]?.subject ?? '', /^Welcome to/);
    assert.match(mailFor(received(), leaving)[0]?.subject ?? '', /left/);

    // Sent means no longer owed: a later start finds nothing for this list.
    for (let i = 0; i < 50 && (await listsOwingNotices(db)).includes(owing); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!(await listsOwingNotices(db)).includes(owing), 'nothing owed any more');
    assert.equal(mailFor(received(), 'settled@members.example').length, 0);
  });
});
