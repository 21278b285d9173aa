// Email commands that change membership, end to end over SMTP: subscribe/join/unsubscribe/leave and -join/-leave
// start subscription workflows under the list's policy, `confirm <token>` by mail completes them, and the roster
// really changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listSubAddress } from '../../mail/address.js';
import { getList } from '../../store/lists.js';
import { findMember } from '../../store/members.js';
import type { MailStatus } from '../../workflows/messages.js';
import { buildMessage, deliver, waitForMailState } from '../helpers/ingress.js';
import { mailFor, readMail, type ReadMail } from '../helpers/read-mail.js';
import { createList, queuedId, subscribe, useStack } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

function header(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('utf8').split('\r\n\r\n')[0] ?? '';
  return new RegExp(`^${name}: *(.*)$`, 'mi').exec(head)?.[1]?.trim();
}

describe('email commands that change membership', () => {
  const env = useStack();
  const someone = () => `${uniqueName('person')}@example.net`;

  async function send(list: string, o: { from: string; subject?: string; text?: string; to?: 'request' | 'join' | 'leave' }): Promise<{ status: MailStatus; text: string }> {
    const to = listSubAddress(list, o.to ?? 'request');
    const raw = await buildMessage({ from: o.from, to, subject: o.subject ?? '', text: o.text ?? '' });
    const report = await deliver(env.stack.smtpPort, { from: o.from, to: [to], raw });
    const status = await waitForMailState(env.stack.client, queuedId(report.response), ['answered', 'ignored'], 60_000);
    const reply = env.recorder.received.find((r) => header(r.raw, 'In-Reply-To') === header(raw, 'Message-ID'));
    assert.ok(reply, `a reply to ${o.subject ?? ''} / ${o.text ?? ''}: ${status.detail}`);
    return { status, text: readMail(reply).text };
  }

  async function mailTo(address: string, match: (m: ReadMail) => boolean, what: string): Promise<ReadMail> {
    await env.recorder.waitFor((received) => mailFor(received, address).some(match), 20_000).catch(() => {
      assert.fail(`no ${what} for ${address}; got: ${JSON.stringify(mailFor(env.recorder.received, address).map((m) => m.subject))}`);
    });
    return mailFor(env.recorder.received, address).find(match) as ReadMail;
  }
  const isConfirmation = (m: ReadMail) => /Your confirmation is needed/.test(m.subject);
  const confirmations = (address: string) => mailFor(env.recorder.received, address).filter(isConfirmation);
  /** The `confirm <token>` line the confirmation mail gives. */
  const commandIn = (m: ReadMail) => /^\s+(confirm [a-z2-7]+)$/m.exec(m.text)?.[1] ?? assert.fail(`no confirm command in:\n${m.text}`);

  async function roles(list: string, address: string) {
    const l = await getList(env.stack.db, list);
    return findMember(env.stack.db, l?.id ?? -1, address);
  }
  const isMember = async (list: string, address: string) => (await roles(list, address)).some((m) => m.role === 'member');

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(what);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('subscribe digest, then "confirm <token>" by mail: a digest member; a second subscribe is "already pending" without a second mail', async () => {
    const list = await createList(env.stack.db);
    const me = someone();
    const first = await send(list, { from: me, subject: 'subscribe digest' });
    assert.equal(first.status.commands?.[0]?.outcome, 'done', first.text);
    assert.match(first.text, new RegExp(`> subscribe digest\\n {2}A confirmation request has been sent to ${me.replace(/[.]/g, '\\.')}`));
    const confirmation = await mailTo(me, isConfirmation, 'confirmation');
    assert.equal(await isMember(list, me), false, 'nobody is subscribed before confirming');

    const again = await send(list, { from: me, text: 'join\n' });
    assert.equal(again.status.commands?.[0]?.outcome, 'pending');
    assert.match(again.text, /> join\n {2}Nothing new was sent: a request for \S+ is already pending\./);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(confirmations(me).length, 1, 'one confirmation mail');

    const confirmed = await send(list, { from: me, subject: `Re: ${commandIn(confirmation)}` });
    assert.equal(confirmed.status.commands?.[0]?.outcome, 'done', confirmed.text);
    assert.match(confirmed.text, new RegExp(`${me.replace(/[.]/g, '\\.')} is now subscribed to `));
    await until('the member is on the roster', () => isMember(list, me));
    assert.equal((await roles(list, me)).find((m) => m.role === 'member')?.deliveryMode, 'mime_digest');

    const reused = await send(list, { from: me, text: `${commandIn(confirmation)}\n` });
    assert.equal(reused.status.commands?.[0]?.outcome, 'refused', 'a token works once');
  });

  it('-join subscribes the sender whatever the body says; -leave unsubscribes; each confirmed by "confirm <token>"', async () => {
    const list = await createList(env.stack.db);
    const me = someone();
    const joined = await send(list, { from: me, to: 'join', subject: 'unsubscribe', text: `subscribe ${someone()}\n` });
    assert.deepEqual(joined.status.commands?.map((c) => [c.line, c.outcome]), [['join', 'done']]);
    assert.match(joined.text, new RegExp(`^The results of your message to ${listSubAddress(list, 'join').replace(/[.]/g, '\\.')}:`));
    assert.match(joined.text, /asks to join for its sender; its subject and body are not read\./);
    await send(list, { from: me, text: `${commandIn(await mailTo(me, isConfirmation, 'confirmation'))}\nend\n` });
    await until('joined', () => isMember(list, me));

    const left = await send(list, { from: me, to: 'leave', subject: 'hello' });
    assert.deepEqual(left.status.commands?.map((c) => [c.line, c.outcome]), [['leave', 'done']]);
    await until('a second confirmation', async () => confirmations(me).length === 2);
    const leaving = confirmations(me)[1] as ReadMail;
    assert.match(leaving.subject, /to leave the/);
    const done = await send(list, { from: me, text: `${commandIn(leaving)}\n` });
    assert.match(done.text, /has been unsubscribed from /);
    await until('left', async () => !(await isMember(list, me)));
  });

  it('open lists: subscribe and unsubscribe of oneself act at once', async () => {
    const list = await createList(env.stack.db, ['subscription_policy=open', 'unsubscription_policy=open']);
    const me = someone();
    const r = await send(list, { from: me, text: 'subscribe nodigest\n' });
    assert.match(r.text, /is being subscribed to /);
    await until('subscribed without confirmation', () => isMember(list, me));
    assert.deepEqual(confirmations(me), []);
    await send(list, { from: me, subject: 'unsubscribe' });
    await until('unsubscribed without confirmation', async () => !(await isMember(list, me)));
  });

  it('subscribing another address asks that address, not the sender, even on an open list', async () => {
    const list = await createList(env.stack.db, ['subscription_policy=open']);
    const me = someone();
    const friend = someone();
    const r = await send(list, { from: me, text: `subscribe address=${friend}\n` });
    assert.match(r.text, new RegExp(`A confirmation request has been sent to ${friend.replace(/[.]/g, '\\.')}`));
    await mailTo(friend, isConfirmation, 'confirmation to the friend');
    assert.equal(await isMember(list, friend), false);
    assert.deepEqual(confirmations(me), []);
  });

  it('refusals: unsubscribing when not a member, a digest where there are none', async () => {
    const list = await createList(env.stack.db, ['digests_enabled=false']);
    const me = someone();
    await subscribe(env.stack.db, list, ['already@example.org']);
    const r = await send(list, { from: me, text: 'unsubscribe\nsubscribe digest=plain\n' });
    assert.deepEqual(r.status.commands?.map((c) => c.outcome), ['refused', 'refused']);
    assert.match(r.text, new RegExp(`> unsubscribe\\n {2}Refused: ${me.replace(/[.]/g, '\\.')} is not a member of `));
    assert.match(r.text, /> subscribe digest=plain\n {2}Refused: \S+ does not offer digests\./);
  });
});
