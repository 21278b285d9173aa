// The backbone end to end: a member's post over SMTP reaches every member through the ledger.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createList, post, queuedId, subscribe, useStack, waitForState } from '../helpers/stack.js';

describe('a member posts to a list', () => {
  const env = useStack();

  it('is delivered once to every member, with the list headers', async () => {
    const list = await createList(env.stack.db);
    const members = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
    await subscribe(env.stack.db, list, members);
    const { response } = await post(env.stack.smtpPort, { from: 'alice@example.com', to: list, subject: 'hello' });
    const id = queuedId(response);
    assert.match(id, /^post\/.+\/[0-9a-f]{16}$/);
    const status = await waitForState(env.stack.client, id, ['delivered']);
    assert.deepEqual(status.delivery, { total: 3, sent: 3, failed: 0, pending: 0 });
    assert.equal(status.decision.action, 'accept');
    assert.deepEqual(env.recorder.deliveredTo().sort(), members);
    const copy = env.recorder.received[0]?.raw.toString() ?? '';
    assert.match(copy, new RegExp(`^List-Id: .*<${list.replace('@', '\\.')}>`, 'm'));
    assert.match(copy, /^Precedence: list/m);
    assert.match(copy, /^Subject: \[[^\]]+\] hello/m);
  });
});
