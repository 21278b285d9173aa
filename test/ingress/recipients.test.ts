// RCPT: list addresses are accepted, anything else is refused with 550 5.1.1 — listflow is never a relay.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildMessage, deliver, deliverExpectingFailure, expectedWorkflowId, storedFor } from '../helpers/ingress.js';
import { createList, subscribe, useStack, waitForState } from '../helpers/stack.js';

describe('ingress recipients', () => {
  const env = useStack();

  it('refuses non-list recipients with 550 5.1.1 and accepts the list in the same transaction', async () => {
    const list = await createList(env.stack.db);
    const [local, domain] = list.split('@') as [string, string];
    await subscribe(env.stack.db, list, ['alice@example.com']);
    const strangers = [
      'victim@elsewhere.example', // relaying to another domain
      `nobody@${domain}`, // the lists' own domain, but no list
      `${local}-unknown@${domain}`, // a suffix listflow does not have
      `${local}-request+x@${domain}`, // a +detail only -bounces and -confirm take
      `${local}-confirm@${domain}`, // -confirm without its token
    ];
    const raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'mixed recipients' });
    const report = await deliver(env.stack.smtpPort, { from: 'alice@example.com', to: [list, ...strangers], raw });

    assert.deepEqual(report.accepted, [list]);
    assert.deepEqual([...report.rejected].sort(), [...strangers].sort());
    for (const err of report.rejectedErrors) {
      assert.equal(err.responseCode, 550, `${err.recipient}: ${err.response}`);
      assert.match(err.response ?? '', /^550 5\.1\.1 /, `${err.recipient}`);
      assert.match(err.response ?? '', /not a relay/);
    }
    const id = expectedWorkflowId('post', list, raw);
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);
    await waitForState(env.stack.client, id, ['delivered']);
    // The refused recipients got nothing; the list's member got the post.
    assert.deepEqual(env.recorder.deliveredTo().filter((r) => strangers.includes(r)), []);
    assert.ok(env.recorder.deliveredTo().includes('alice@example.com'));
  });

  it('stores nothing when the only recipient is refused', async () => {
    const raw = await buildMessage({ from: 'spammer@elsewhere.example', to: 'victim@elsewhere.example', subject: 'relay me' });
    const err = await deliverExpectingFailure(env.stack.smtpPort, { from: 'spammer@elsewhere.example', to: ['victim@elsewhere.example'], raw });
    assert.equal(err.responseCode, 550, err.message);
    assert.match(err.response ?? '', /^550 5\.1\.1 /);
    assert.deepEqual(await storedFor(env.stack.db, raw), { messages: 0, inbound: [] });
  });

  it('accepts every kind of list address, in any case', async () => {
    const list = await createList(env.stack.db);
    const [local, domain] = list.split('@') as [string, string];
    const addresses = [
      list.toUpperCase(),
      `${local}-request@${domain}`,
      `${local}-owner@${domain}`,
      `${local}-bounces@${domain}`,
      `${local}-bounces+0123abcd@${domain}`,
      `${local}-confirm+token42@${domain}`,
      `${local}-join@${domain}`,
      `${local}-leave@${domain}`,
    ];
    const raw = await buildMessage({ from: 'carol@example.com', to: list, subject: 'every address' });
    const report = await deliver(env.stack.smtpPort, { from: 'carol@example.com', to: addresses, raw });
    assert.deepEqual(report.rejected, []);
    assert.equal(report.accepted.length, addresses.length);
  });

  it('accepts a list created a moment after the previous message', async () => {
    // Regression: ingress caches the list directory; a list made right after a lookup must not be refused with a permanent 550.
    const first = await createList(env.stack.db);
    const raw1 = await buildMessage({ from: 'dave@example.com', to: first });
    await deliver(env.stack.smtpPort, { from: 'dave@example.com', to: [first], raw: raw1 });
    const second = await createList(env.stack.db);
    const raw2 = await buildMessage({ from: 'dave@example.com', to: second });
    const report = await deliver(env.stack.smtpPort, { from: 'dave@example.com', to: [second], raw: raw2 });
    assert.equal(report.response, `250 2.0.0 queued as ${expectedWorkflowId('post', second, raw2)}`);
  });
});
