// The backbone end to end: a member's post over SMTP reaches every member through the ledger.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createList, post, queuedId, startStack, subscribe, waitForState, type Stack } from '../helpers/stack.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';

describe('a member posts to a list', () => {
  let recorder: SmtpRecorder;
  let stack: Stack;
  before(async () => {
    recorder = await startSmtpRecorder();
    stack = await startStack({ smarthost: recorder.url });
  });
  after(async () => {
    await stack.stop();
    await recorder.close();
  });

  it('is delivered once to every member, with the list headers', async () => {
    const list = await createList(stack.db);
    const members = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
    await subscribe(stack.db, list, members);
    const { response } = await post(stack.smtpPort, { from: 'alice@example.com', to: list, subject: 'hello' });
    const id = queuedId(response);
    assert.match(id, /^post\/.+\/[0-9a-f]{16}$/);
    const status = await waitForState(stack.client, id, ['delivered']);
    assert.deepEqual(status.delivery, { total: 3, sent: 3, failed: 0, pending: 0 });
    assert.equal(status.decision.action, 'accept');
    assert.deepEqual(recorder.deliveredTo().sort(), members);
    const copy = recorder.received[0]?.raw.toString() ?? '';
    assert.match(copy, new RegExp(`^List-Id: .*<${list.replace('@', '\\.')}>`, 'm'));
    assert.match(copy, /^Precedence: list/m);
    assert.match(copy, /^Subject: hello/m);
  });
});
