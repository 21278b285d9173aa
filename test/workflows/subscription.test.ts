// Subscriptions end to end: requests started as the mail command processor starts them, confirmation mail over
// real SMTP, confirmation by replying into ingress, moderators' decisions, welcome and goodbye messages.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { oneClickUrl } from '../../mail/links.js';
import { issueToken } from '../../mail/tokens.js';
import { siteSecret } from '../../store/db.js';
import { createWebServer } from '../../web/server.js';
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
import { terminateAll } from '../helpers/temporal.js';

describe('subscriptions', () => {
  const env = useStack();

  let server: http.Server;
  let base: string;
  before(async () => {
    server = createWebServer({ db: env.stack.db, client: env.stack.client, taskQueue: env.stack.taskQueue, deliveryTaskQueue: env.stack.deliveryTaskQueue });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  const started: string[] = [];
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await terminateAll(started);
  });
  /** A link from the mail (made for the configured public URL), pointed at this test's web server. */
  const local = (url: string) => url.replace(/^http:\/\/127\.0\.0\.1:8025/, base);

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
    const outcome = startSubscriptionRequest(env.stack.db, env.stack.client, queues(), request);
    started.push(subscriptionWorkflowId(list, address.trim()));
    return outcome;
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
    const weekly = await ask(list, 'finn@example.com', { deliveryMode: 'weekly' as 'regular' });
    assert.equal(weekly.outcome, 'refused');
    assert.match(weekly.detail, /"weekly" is not a delivery mode/);
    // The activity's retry after a lost answer (same caller) is told 'started'; anyone else 'pending'.
    const request: SubscriptionRequest = { list, address: 'gail@example.com', action: 'subscribe', via: 'mail', requestedBy: 'gail@example.com', requestedAt: new Date().toISOString() };
    started.push(subscriptionWorkflowId(list, 'gail@example.com'));
    const once = await startSubscriptionRequest(env.stack.db, env.stack.client, queues(), request, 'request/x/1/activity-3');
    const retried = await startSubscriptionRequest(env.stack.db, env.stack.client, queues(), request, 'request/x/1/activity-3');
    const other = await startSubscriptionRequest(env.stack.db, env.stack.client, queues(), request, 'request/x/2/activity-3');
    assert.deepEqual([once.outcome, retried.outcome, other.outcome], ['started', 'started', 'pending']);
    const gone = await ask(`nolist-${Date.now()}@lists.example`, 'erin@example.com');
    assert.equal(gone.outcome, 'refused');
    assert.match(gone.detail, /there is no list/);
    void moderateSubscriptionUpdate;
    void isGoodbye;
  });

  async function moderate(list: string, address: string, action: 'approve' | 'reject' | 'discard', reason?: string): Promise<SubscriptionStatus> {
    return env.stack.client.workflow
      .getHandle(subscriptionWorkflowId(list, address))
      .executeUpdate(moderateSubscriptionUpdate, { args: [{ action, by: 'owner@example.org', ...(reason ? { reason } : {}) }] });
  }

  it('open: a request from the address itself subscribes at once and welcomes; one made for someone else is still confirmed by that address', async () => {
    const list = await createList(env.stack.db, ['subscription_policy=open']);
    const own = await ask(list, 'fay@example.com');
    assert.equal(own.outcome, 'started');
    assert.match(own.detail, /fay@example\.com is being subscribed/);
    const done = await subscriptionState(list, 'fay@example.com', ['completed']);
    assert.equal(done.policy, 'open');
    assert.equal(await isMember(list, 'fay@example.com'), true);
    await mailTo('fay@example.com', isWelcome, 'welcome');
    assert.equal(mailFor(env.recorder.received, 'fay@example.com').filter(isConfirmation).length, 0);

    const forOther = await ask(list, 'gus@example.com', { requestedBy: 'prankster@example.net' });
    assert.match(forOther.detail, /confirmation request has been sent to gus@example\.com/);
    await subscriptionState(list, 'gus@example.com', ['awaiting_confirmation']);
    assert.equal(await isMember(list, 'gus@example.com'), false);
  });

  it('moderate: one notice to the moderators; approve subscribes and welcomes, reject tells the address why; a finished request may be asked again', async () => {
    const list = await createList(env.stack.db, ['subscription_policy=moderate']);
    await subscribe(env.stack.db, list, ['owner@example.org'], 'owner');
    await subscribe(env.stack.db, list, ['mod@example.org'], 'moderator');
    assert.equal((await ask(list, 'hal@example.com')).outcome, 'started');
    assert.equal((await ask(list, 'ivy@example.com')).outcome, 'started');
    const waiting = await subscriptionState(list, 'hal@example.com', ['awaiting_approval']);
    assert.ok(waiting.expiresAt && Date.parse(waiting.expiresAt) > Date.now() + 2.9 * 86_400_000, 'waits pending_request_days (3)');
    await subscriptionState(list, 'ivy@example.com', ['awaiting_approval']);
    const notice = await mailTo('mod@example.org', (m) => /hal@example\.com awaits approval/.test(m.subject), 'moderator notice');
    assert.match(notice.text, new RegExp(`listflow approve subscription/${list.replace('.', '\\.')}/hal@example\\.com`));
    assert.equal(mailFor(env.recorder.received, 'owner@example.org').length, 0, 'moderators, not owners, when there are moderators');
    assert.equal(mailFor(env.recorder.received, 'hal@example.com').length, 0, 'no confirmation under moderate');

    const approved = await moderate(list, 'hal@example.com', 'approve');
    assert.equal(approved.state, 'completed');
    assert.equal(approved.moderation?.by, 'owner@example.org');
    await mailTo('hal@example.com', isWelcome, 'welcome');
    assert.equal(await isMember(list, 'hal@example.com'), true);

    const rejected = await moderate(list, 'ivy@example.com', 'reject', 'this list is for staff only');
    assert.equal(rejected.state, 'rejected');
    const told = await mailTo('ivy@example.com', (m) => /was rejected/.test(m.subject), 'rejection');
    assert.match(told.text, /Reason: this list is for staff only/);
    assert.equal(await isMember(list, 'ivy@example.com'), false);
    await assert.rejects(moderate(list, 'ivy@example.com', 'approve'), 'a finished request takes no decision');
    assert.equal(mailFor(env.recorder.received, 'mod@example.org').filter((m) => /ivy@example\.com awaits/.test(m.subject)).length, 1, 'one notice per request');

    const again = await ask(list, 'ivy@example.com');
    assert.equal(again.outcome, 'started', 'a finished request may be made again');
    await subscriptionState(list, 'ivy@example.com', ['awaiting_approval']);
  });

  it('confirm_then_moderate by the link: GET shows a button and changes nothing, POST confirms, a moderator approves; the used token is refused after', async () => {
    const list = await createList(env.stack.db, ['subscription_policy=confirm_then_moderate']);
    await subscribe(env.stack.db, list, ['owner@example.org'], 'owner');
    await ask(list, 'jan@example.com', { deliveryMode: 'mime_digest', displayName: 'Jan' });
    const ways = confirmWays(await mailTo('jan@example.com', isConfirmation, 'confirmation'));
    const link = local(ways.url);
    assert.ok(link.startsWith(`${base}/c/${encodeURIComponent(list)}/`), link);

    for (let i = 0; i < 2; i++) {
      const shown = await fetch(link);
      assert.equal(shown.status, 200);
      const html = await shown.text();
      assert.match(html, /Confirm that <strong>jan@example\.com<\/strong> should be subscribed to/);
      assert.match(html, /<form method="post">.*<button type="submit">Confirm<\/button><\/form>/);
    }
    assert.equal((await fetch(link, { method: 'HEAD' })).status, 200);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await subscriptionState(list, 'jan@example.com', ['awaiting_confirmation'])).confirmed, null, 'GET and HEAD confirmed nothing');

    const posted = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'confirm=yes' });
    const html = await posted.text();
    assert.equal(posted.status, 200, html);
    assert.match(html, /now waits for a list moderator&#39;s approval/);
    const waiting = await subscriptionState(list, 'jan@example.com', ['awaiting_approval']);
    assert.equal(waiting.confirmed?.via, 'web');
    const after = await (await fetch(link)).text();
    assert.match(after, /does not wait for a confirmation any more \(it is awaiting approval\)/);
    assert.doesNotMatch(after, /<form/, 'no button once confirmed');
    await mailTo('owner@example.org', (m) => /jan@example\.com awaits approval/.test(m.subject), 'owner notice (no moderators)');
    assert.equal((await moderate(list, 'jan@example.com', 'approve')).state, 'completed');
    const l = await getList(env.stack.db, list);
    const member = (await findMember(env.stack.db, l?.id ?? -1, 'jan@example.com')).find((m) => m.role === 'member');
    assert.equal(member?.deliveryMode, 'mime_digest');
    assert.equal(member?.displayName, 'Jan');

    const reused = await fetch(link, { method: 'POST' });
    assert.equal(reused.status, 409);
    assert.match(await reused.text(), /Nothing was done: this confirmation was already used/);
    const replied = await post(env.stack.smtpPort, { from: 'jan@example.com', to: ways.address, subject: 'Re: confirm' });
    const answer = (await env.stack.client.workflow.getHandle(queuedId(replied.response)).result()) as MailStatus;
    assert.equal(answer.state, 'refused');
    assert.match(answer.detail, /already used/);
  });

  it('refuses forged, other-list, expired, garbled and moderation tokens on the link with 403/410/400, changing nothing', async () => {
    const list = await createList(env.stack.db);
    const other = await createList(env.stack.db);
    await ask(list, 'kim@example.com');
    const ways = confirmWays(await mailTo('kim@example.com', isConfirmation, 'confirmation'));
    const link = local(ways.url);
    const flip = (t: string, i: number) => t.slice(0, i) + (t[i] === 'a' ? 'b' : 'a') + t.slice(i + 1);
    const secret = await siteSecret(env.stack.db);
    const expired = issueToken(secret, { kind: 'subscription', action: 'subscribe', list, ref: Buffer.alloc(8), expiresAt: Math.floor(Date.now() / 1000) - 60 });
    const moderation = issueToken(secret, { kind: 'moderation', action: 'approve', list, ref: Buffer.alloc(8), expiresAt: Math.floor(Date.now() / 1000) + 600 });
    const cases: [string, number, RegExp][] = [
      [`${base}/c/${encodeURIComponent(list)}/${flip(ways.token, 20)}`, 403, /not valid/],
      [`${base}/c/${encodeURIComponent(other)}/${ways.token}`, 403, /not valid for/],
      [`${base}/c/${encodeURIComponent(list)}/${expired}`, 410, /expired/],
      [`${base}/c/${encodeURIComponent(list)}/${ways.token.slice(0, 20)}`, 400, /not a valid confirmation link/],
      [`${base}/c/${encodeURIComponent(list)}/${moderation}`, 403, /not confirmed by a link/],
      [`${base}/c/${encodeURIComponent(list)}`, 404, /Not found/],
    ];
    for (const [url, status, text] of cases) {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(url, { method });
        assert.equal(res.status, status, `${method} ${url}`);
        assert.match(await res.text(), text);
      }
    }
    assert.equal((await fetch(link, { method: 'PUT' })).status, 405);
    const big = await fetch(link, { method: 'POST', body: 'x'.repeat(20_000) });
    assert.equal(big.status, 413);
    await new Promise((r) => setTimeout(r, 300));
    const status = await subscriptionState(list, 'kim@example.com', ['awaiting_confirmation']);
    assert.equal(status.confirmed, null);
    // A forged token by mail is answered, and changes nothing either.
    const forged = await post(env.stack.smtpPort, { from: 'kim@example.com', to: ways.address.replace(ways.token, flip(ways.token, 20)), subject: 'Re: confirm' });
    const answer = (await env.stack.client.workflow.getHandle(queuedId(forged.response)).result()) as MailStatus;
    assert.equal(answer.state, 'refused');
    assert.equal((await subscriptionState(list, 'kim@example.com', ['awaiting_confirmation'])).confirmed, null);
  });

  it('unsubscription: confirmed by the link, the member is removed, recorded and gets the goodbye; one-click now says goodbye too', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['leo@example.com', 'mia@example.com', 'ned@example.com']);
    const r = await ask(list, 'leo@example.com', { action: 'unsubscribe' });
    assert.equal(r.outcome, 'started', r.detail);
    const confirmation = await mailTo('leo@example.com', isConfirmation, 'confirmation');
    assert.match(confirmation.subject, /to leave the/);
    assert.equal(await isMember(list, 'leo@example.com'), true, 'still a member until confirmed');
    const posted = await fetch(local(confirmWays(confirmation).url), { method: 'POST' });
    assert.equal(posted.status, 200);
    assert.match(await posted.text(), /leo@example\.com has been unsubscribed from/);
    assert.equal(await isMember(list, 'leo@example.com'), false);
    const goodbye = await mailTo('leo@example.com', isGoodbye, 'goodbye');
    assert.match(goodbye.text, new RegExp(`send any message to ${list.replace('@', '-join@').replace('.', '\\.')}`));

    // The member's one-click link (RFC 8058): removed at once, and the goodbye follows.
    const l = await getList(env.stack.db, list);
    const mia = (await findMember(env.stack.db, l?.id ?? -1, 'mia@example.com'))[0];
    assert.ok(mia);
    const oneClick = oneClickUrl(await siteSecret(env.stack.db), base, list, mia.verpToken);
    const res = await fetch(oneClick, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    assert.equal(res.status, 200);
    assert.equal(await isMember(list, 'mia@example.com'), false);
    await mailTo('mia@example.com', isGoodbye, 'goodbye after one-click');
    const { rows } = await env.stack.db.query<{ address: string; via: string }>('SELECT address, via FROM unsubscriptions WHERE list_address = $1 ORDER BY id', [list]);
    assert.deepEqual(rows, [
      { address: 'leo@example.com', via: 'mail' },
      { address: 'mia@example.com', via: 'one-click' },
    ]);
    const again = await fetch(oneClick, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    assert.match(await again.text(), /already unsubscribed/);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(mailFor(env.recorder.received, 'mia@example.com').filter(isGoodbye).length, 1, 'one goodbye');

    // send_goodbye_message=false: removed, no goodbye.
    await env.stack.db.query(`UPDATE lists SET settings = settings || '{"send_goodbye_message": false}'::jsonb WHERE address = $1`, [list]);
    const ned = (await findMember(env.stack.db, l?.id ?? -1, 'ned@example.com'))[0];
    assert.ok(ned);
    await fetch(oneClickUrl(await siteSecret(env.stack.db), base, list, ned.verpToken), { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const nedDone = await subscriptionState(list, 'ned@example.com', ['completed']);
    assert.deepEqual(nedDone.notices, []);
    assert.equal(mailFor(env.recorder.received, 'ned@example.com').length, 0);
  });

  it('one-click while an unsubscription request for the address waits: removed at once, and the goodbye still comes', async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['ola@example.com']);
    assert.equal((await ask(list, 'ola@example.com', { action: 'unsubscribe' })).outcome, 'started');
    await mailTo('ola@example.com', isConfirmation, 'confirmation');
    const l = await getList(env.stack.db, list);
    const ola = (await findMember(env.stack.db, l?.id ?? -1, 'ola@example.com'))[0];
    assert.ok(ola);
    // The one-click's own unsubscription workflow cannot start beside the waiting request (same ID).
    const res = await fetch(oneClickUrl(await siteSecret(env.stack.db), base, list, ola.verpToken), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    assert.equal(res.status, 200);
    assert.equal(await isMember(list, 'ola@example.com'), false);
    await mailTo('ola@example.com', isGoodbye, 'goodbye sent as an owed message');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(mailFor(env.recorder.received, 'ola@example.com').filter(isGoodbye).length, 1, 'one goodbye');
  });

  it('a request confirmed after an owner already added the address changes nothing and sends no second welcome', async () => {
    const list = await createList(env.stack.db);
    await ask(list, 'xena@example.com');
    const ways = confirmWays(await mailTo('xena@example.com', isConfirmation, 'confirmation'));
    await subscribe(env.stack.db, list, ['xena@example.com']);
    const posted = await fetch(local(ways.url), { method: 'POST' });
    assert.equal(posted.status, 200);
    assert.match(await posted.text(), /Confirmed, but nothing changed: xena@example\.com was already a member of/);
    const done = await subscriptionState(list, 'xena@example.com', ['completed']);
    assert.deepEqual(done.notices, ['confirmation: sent to xena@example.com']);
    assert.equal(mailFor(env.recorder.received, 'xena@example.com').filter(isWelcome).length, 0);
  });
});
