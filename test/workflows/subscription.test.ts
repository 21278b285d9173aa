// Subscriptions end to end: requests started as the mail command processor starts them, confirmation mail over
// real SMTP, confirmation by replying into ingress, moderators' decisions, welcome and goodbye messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSubscriptionRequest } from '../../activities/subscriptions.js';
import { getList } from '../../store/lists.js';
import { findMember } from '../../store/members.js';
import {
  mailStatusQuery,
  moderateSubscriptionUpdate,
  subscriptionStatusQuery,
  subscriptionWorkflowId,
  type MailStatus,
  type SubscriptionRequest,
  type SubscriptionState,
  type SubscriptionStatus,
} from '../../workflows/messages.js';
import { mailFor, type ReadMail } from '../helpers/read-mail.js';
import { createList, post, queuedId, subscribe, useStack } from '../helpers/stack.js';

describe('subscriptions', () => {
  const env = useStack();

  const queues = () => ({ taskQueue: env.stack.taskQueue, deliveryTaskQueue: env.stack.deliveryTaskQueue });

  function ask(list: string, address: string, o: Partial<SubscriptionRequest> = {}) {
    const request: SubscriptionRequest = {
      list,
      address,
      action: 'subscribe',
      via: 'mail',
      requestedBy: address,
      requestedAt: new Date().toISOString(),
      ...o,
    };
    return startSubscriptionRequest(env.stack.db, env.stack.client, queues(), request);
  }

  async function mailTo(address: string, match: (m: ReadMail) => boolean, what: string): Promise<ReadMail> {
    await env.recorder.waitFor((received) => mailFor(received, address).some(match), 20_000).catch(() => {
      assert.fail(`no ${what} for ${address}; got: ${JSON.stringify(mailFor(env.recorder.received, address).map((m) => m.subject))}`);
    });
    return mailFor(env.recorder.received, address).find(match) as ReadMail;
  }

  const isConfirmation = (m: ReadMail) => /Your confirmation is needed/.test(m.subject);
  const isWelcome = (m: ReadMail) => /^Welcome to/.test(m.subject);
  const isGoodbye = (m: ReadMail) => /^You have left/.test(m.subject);

  /** The three ways to use a confirmation, as the mail gives them. */
  function confirmWays(m: ReadMail): { address: string; url: string; token: string } {
    const address = /^\s+(\S+-confirm\+\S+@\S+)$/m.exec(m.text)?.[1];
    const url = /^\s+(http\S+\/c\/\S+)$/m.exec(m.text)?.[1];
    const token = /^\s+confirm ([a-z2-7]+)$/m.exec(m.text)?.[1];
    assert.ok(address && url && token, `the confirmation mail names a reply address, a link and a command:\n${m.text}`);
    return { address, url, token };
  }

  async function subscriptionState(list: string, address: string, states: SubscriptionState[], timeoutMs = 20_000): Promise<SubscriptionStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: SubscriptionStatus | undefined;
    for (;;) {
      try {
        last = await env.stack.client.workflow.getHandle(subscriptionWorkflowId(list, address)).query(subscriptionStatusQuery);
        if (states.includes(last.state)) return last;
      } catch {
        // not started or not picked up yet
      }
      if (Date.now() > deadline) assert.fail(`the request for ${address} did not reach ${states.join('/')} (last: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function isMember(list: string, address: string): Promise<boolean> {
    const l = await getList(env.stack.db, list);
    return (await findMember(env.stack.db, l?.id ?? -1, address)).some((m) => m.role === 'member');
  }

  it('confirm (the default): a confirmation mail, "already pending" without a second mail, a reply to -confirm+token subscribes and welcomes', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['owner@example.org'], 'owner');
    const first = await ask(list, 'alice@example.com', { deliveryMode: 'regular' });
    assert.equal(first.outcome, 'started', first.detail);
    assert.equal(first.workflowId, subscriptionWorkflowId(list, 'alice@example.com'));
    assert.match(first.detail, /confirmation request has been sent to alice@example\.com/);
    const confirmation = await mailTo('alice@example.com', isConfirmation, 'confirmation');
    const ways = confirmWays(confirmation);
    const raw = (env.recorder.received.find((r) => r.to.includes('alice@example.com'))?.raw.toString('latin1') ?? '').replace(/\r\n[ \t]+/g, ' ');
    assert.match(raw, /^Auto-Submitted: auto-generated/m);
    assert.match(raw, new RegExp(`^Reply-To: .*${ways.address.replace(/[.+]/g, '\\$&')}`, 'm'));
    assert.equal(env.recorder.received.find((r) => r.to.includes('alice@example.com'))?.from, list.replace('@', '-bounces@'));
    await subscriptionState(list, 'alice@example.com', ['awaiting_confirmation']);

    const second = await ask(list, 'alice@example.com');
    assert.deepEqual(second, { outcome: 'pending', detail: 'a request for alice@example.com is already pending', workflowId: first.workflowId });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(mailFor(env.recorder.received, 'alice@example.com').filter(isConfirmation).length, 1, 'no second confirmation mail');
    assert.equal(await isMember(list, 'alice@example.com'), false, 'nobody is subscribed before confirming');

    // The person replies from a mail program: the reply goes to the -confirm+token address, through ingress.
    const reply = await post(env.stack.smtpPort, { from: 'alice@example.com', to: ways.address, subject: `Re: ${confirmation.subject}`, text: '> quoted text\n' });
    const done = await subscriptionState(list, 'alice@example.com', ['completed']);
    assert.equal(done.confirmed?.by, 'alice@example.com');
    assert.equal(await isMember(list, 'alice@example.com'), true);
    const welcome = await mailTo('alice@example.com', isWelcome, 'welcome');
    assert.match(welcome.text, new RegExp(`To post to the list, write to ${list.replace('.', '\\.')}`));
    assert.match(welcome.text, /To leave the list:\n {2}- open http:\/\/127\.0\.0\.1:8025\/u\//);
    assert.match(welcome.text, new RegExp(list.replace('@', '-leave@').replace('.', '\\.')));
    const confirmReply = await env.stack.client.workflow.getHandle(queuedId(reply.response)).result() as MailStatus;
    assert.equal(confirmReply.state, 'applied', confirmReply.detail);
    assert.match(confirmReply.detail, /alice@example\.com is now subscribed to/);
    void mailStatusQuery;
  });

  it('refuses invalid addresses with the reason, "already a member" and "not a member" to the address itself, and answers a stranger without revealing the roster', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['bob@example.com']);
    for (const [address, reason] of [
      ['not-an-address', /is not an address/],
      ['bob@example.com\r\nBcc: victim@example.net', /not a plain address/],
      ['a@b', /is not a domain name/],
      ['', /empty address/],
    ] as const) {
      const r = await ask(list, address, { requestedBy: 'someone@example.com' });
      assert.equal(r.outcome, 'refused', address);
      assert.match(r.detail, reason);
      assert.equal(r.workflowId, null);
    }
    assert.deepEqual(await ask(list, 'Bob@Example.com'), { outcome: 'refused', detail: `Bob@example.com is already a member of ${list}`, workflowId: null });
    assert.deepEqual(await ask(list, 'carol@example.com', { action: 'unsubscribe' }), { outcome: 'refused', detail: `carol@example.com is not a member of ${list}`, workflowId: null });
    // A stranger asking about someone else's address learns nothing (member_roster_visibility is moderators).
    const probe = await ask(list, 'bob@example.com', { requestedBy: 'stranger@example.net' });
    const real = await ask(list, 'dave@example.com', { requestedBy: 'stranger@example.net' });
    assert.equal(probe.outcome, real.outcome);
    assert.equal(probe.detail.replace('bob@', 'x@'), real.detail.replace('dave@', 'x@'));
    await mailTo('dave@example.com', isConfirmation, 'confirmation');
    assert.deepEqual(mailFor(env.recorder.received, 'bob@example.com'), [], 'the member got nothing from the probe');
    const gone = await ask(`nolist-${Date.now()}@lists.example`, 'erin@example.com');
    assert.equal(gone.outcome, 'refused');
    assert.match(gone.detail, /there is no list/);
    void moderateSubscriptionUpdate;
    void isGoodbye;
  });
});
