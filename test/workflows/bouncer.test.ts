// A member's bounce score over simulated weeks on the time-skipping server: Mailman 3's schedule (one increment a
// day, disabled at 5, three warnings 7 days apart, removal), a temporary failure left alone, the stale reset,
// re-enabling by the token in the notice, and the owners' daily summary of policy refusals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { signalBouncer, signalPolicyRefusal } from '../../activities/bouncer-feed.js';
import { applyToken } from '../../activities/token-actions.js';
import { readFacts } from '../../mail/message.js';
import { workflowBundle } from '../../workers/index.js';
import { Worker } from '@temporalio/worker';
import type { bouncerWorkflow } from '../../workflows/bouncer.js';
import {
  bounceSignal,
  bouncerStatusQuery,
  bouncerWorkflowId,
  policyNoticeWorkflowId,
  type BouncerStatus,
  bounceTaskQueueOf,
} from '../../workflows/messages.js';
import { mailFor } from '../helpers/read-mail.js';
import { createList, subscribe } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';
import { resultWithin, useTimeSkippingStack } from '../helpers/time-skipping.js';

const DAY_MS = 86_400_000;

describe('the bounce score over weeks, on the time-skipping server', () => {
  const stack = useTimeSkippingStack();
  const queues = () => ({ core: stack.taskQueue, delivery: stack.deliveryTaskQueue, bounces: bounceTaskQueueOf(stack.taskQueue) });
  const db = () => stack.database.db;

  async function setup(settings: string[] = []) {
    const tag = uniqueName('b');
    const list = await createList(db(), settings, 'bnc');
    const member = `member-${tag}@members.example`;
    const owner = `owner-${tag}@owners.example`;
    await subscribe(db(), list, [member, `other-${tag}@members.example`]);
    await subscribe(db(), list, [owner], 'owner');
    const handle = () => stack.env.client.workflow.getHandle<typeof bouncerWorkflow>(bouncerWorkflowId(list, member));
    let n = 0;
    const bounce = (permanent = true, id = `test-${tag}-${n++}`) =>
      signalBouncer(stack.env.client, queues(), list, member, {
        at: new Date().toISOString(),
        permanent,
        reason: permanent ? '550 5.1.1 user unknown' : '451 4.2.1 mailbox busy',
        source: 'inbound',
        id,
        status: permanent ? '5.1.1' : '4.2.1',
      });
    return { tag, list, member, owner, handle, bounce };
  }

  async function until(handle: () => WorkflowHandle, done: (s: BouncerStatus) => boolean, what: string): Promise<BouncerStatus> {
    const deadline = Date.now() + 30_000;
    let last: BouncerStatus | undefined;
    for (;;) {
      try {
        last = await handle().query(bouncerStatusQuery);
        if (done(last)) return last;
      } catch {
        // not started yet
      }
      if (Date.now() > deadline) throw new Error(`the bouncer never reached "${what}" (last: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function deliveryStatus(list: string, address: string): Promise<string | null> {
    const { rows } = await db().query<{ delivery_status: string }>(
      `SELECT m.delivery_status FROM members m JOIN lists l ON l.id = m.list_id WHERE l.address = $1 AND m.address_key = lower($2) AND m.role = 'member'`,
      [list, address],
    );
    return rows[0]?.delivery_status ?? null;
  }

  it('five permanent bounces on five days disable delivery; three warnings 7 days apart; then removal', async () => {
    const t = await setup();
    await t.bounce();
    await until(t.handle, (s) => s.score === 1, 'score 1');
    await t.bounce();
    const sameDay = await until(t.handle, (s) => s.events.length === 2, 'two events');
    assert.equal(sameDay.score, 1, 'at most one increment a day');
    assert.match(sameDay.events[1]?.effect ?? '', /already rose today/);
    for (let day = 2; day <= 4; day++) {
      await stack.env.sleep('1 day');
      await t.bounce();
      await until(t.handle, (s) => s.score === day, `score ${day}`);
    }
    assert.equal(await deliveryStatus(t.list, t.member), 'enabled', 'still delivered at 4');
    await stack.env.sleep('1 day');
    await t.bounce();
    const disabled = await until(t.handle, (s) => s.state === 'disabled' && s.nextAction === 'warning', 'disabled');
    assert.equal(disabled.score, 5);
    assert.equal(disabled.warningsSent, 1);
    assert.equal(await deliveryStatus(t.list, t.member), 'by_bounces');
    assert.equal(Date.parse(disabled.nextActionAt ?? '') - Date.parse(disabled.disabledAt ?? ''), 7 * DAY_MS);

    // The member's notice is the first warning: re-enable address and link, automatic, from the list's -owner, VERP return path.
    await stack.recorder.waitFor(() => mailFor(stack.recorder.received, t.member).length === 1 && mailFor(stack.recorder.received, t.owner).length === 1);
    const notice = stack.recorder.received.find((r) => r.to.includes(t.member));
    assert.ok(notice);
    const facts = readFacts(notice.raw);
    assert.equal(facts.autoSubmitted, 'auto-generated');
    assert.match(notice.from, /-bounces\+[0-9a-f]{20}@lists\.example$/);
    const memberMail = mailFor(stack.recorder.received, t.member)[0];
    assert.match(memberMail?.subject ?? '', /delivery from .* is disabled/);
    assert.match(memberMail?.text ?? '', /-confirm\+[a-z2-7]+@lists\.example/);
    assert.match(memberMail?.text ?? '', /http:\/\/127\.0\.0\.1:8025\/c\/bnc-[0-9a-f]+%40lists\.example\/[a-z2-7]+/);
    assert.match(memberMail?.text ?? '', /Warning 1 of 3/);
    assert.match(mailFor(stack.recorder.received, t.owner)[0]?.subject ?? '', /delivery to member-.* disabled \(bounce score 5\)/);

    await stack.env.sleep('7 days');
    await stack.recorder.waitFor(() => mailFor(stack.recorder.received, t.member).length === 2);
    await stack.env.sleep('7 days');
    await stack.recorder.waitFor(() => mailFor(stack.recorder.received, t.member).length === 3);
    const warned = await until(t.handle, (s) => s.warningsSent === 3 && s.nextAction === 'removal', 'three warnings');
    assert.match(mailFor(stack.recorder.received, t.member)[2]?.subject ?? '', /warning 3 of 3/);
    assert.equal(await deliveryStatus(t.list, t.member), 'by_bounces', 'still a member during the countdown');

    await stack.env.sleep('7 days');
    const ended = await resultWithin<BouncerStatus>(t.handle());
    assert.equal(ended.state, 'removed');
    assert.equal(await deliveryStatus(t.list, t.member), null, 'the membership is gone');
    const { rows } = await db().query<{ via: string }>('SELECT via FROM unsubscriptions WHERE list_address = $1 AND lower(address) = lower($2)', [t.list, t.member]);
    assert.deepEqual(rows.map((r) => r.via), ['bounces']);
    await stack.recorder.waitFor(() => mailFor(stack.recorder.received, t.owner).length === 2);
    assert.match(mailFor(stack.recorder.received, t.owner)[1]?.subject ?? '', /removed \(bounces\)/);
    // The schedule, by the workflow's own clock: warnings 7 and 14 days after disabling, removal at 21.
    const times = ended.events.filter((e) => ['disabled', 'warning', 'removed'].includes(e.effect)).map((e) => Date.parse(e.at));
    assert.equal(times.length, 4);
    const days = times.map((x) => Math.round((x - (times[0] as number)) / DAY_MS));
    assert.deepEqual(days, [0, 7, 14, 21]);
    assert.equal(warned.warningsTotal, 3);

    // Replay-safe: the whole history (signals, timers, activities) replays with today's code.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'bouncer' }, await t.handle().fetchHistory());
  });

  it('a single temporary failure leaves the member untouched', async () => {
    const t = await setup();
    await t.bounce(false);
    const ended = await resultWithin<BouncerStatus>(t.handle());
    assert.equal(ended.state, 'ended');
    assert.equal(ended.score, 0);
    assert.match(ended.events[0]?.effect ?? '', /temporary failure/);
    assert.equal(await deliveryStatus(t.list, t.member), 'enabled');
    assert.deepEqual(mailFor(stack.recorder.received, t.member), []);
  });

  it('resets the score when the last bounce is more than bounce_info_stale_after days old', async () => {
    const t = await setup();
    for (let day = 1; day <= 3; day++) {
      if (day > 1) await stack.env.sleep('1 day');
      await t.bounce();
      await until(t.handle, (s) => s.score === day, `score ${day}`);
    }
    await stack.env.sleep('8 days');
    const stale = await resultWithin<BouncerStatus>(t.handle());
    assert.equal(stale.state, 'ended');
    assert.equal(stale.score, 0);
    assert.match(stale.detail, /no bounce for more than 7 day\(s\): the score is reset/);
    await t.bounce();
    const again = await until(t.handle, (s) => s.state === 'scoring' && s.events.length === 1, 'a fresh run');
    assert.equal(again.score, 1, 'counting starts again from zero');
    await t.handle().terminate('test finished');
  });

  it('replying with the token of the notice turns delivery back on and cancels the countdown', async () => {
    const t = await setup(['bounce_score_threshold=2']);
    await t.bounce();
    await until(t.handle, (s) => s.score === 1, 'score 1');
    await stack.env.sleep('1 day');
    await t.bounce();
    await until(t.handle, (s) => s.state === 'disabled', 'disabled');
    await stack.recorder.waitFor(() => mailFor(stack.recorder.received, t.member).length === 1);
    const token = /-confirm\+([a-z2-7]+)@/.exec(mailFor(stack.recorder.received, t.member)[0]?.text ?? '')?.[1];
    assert.ok(token, 'the notice carries a re-enable token');
    // What a reply to that address (or a POST to its link) runs: the token dispatch of activities/token-actions.ts.
    const deps = { db: db(), publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test' };
    const forged = await applyToken(deps, stack.env.client, { list: t.list, token: `${token.slice(0, -2)}aa`, by: t.member, via: 'mail', claimedBy: 'test' });
    assert.equal(forged.state, 'refused');
    const r = await applyToken(deps, stack.env.client, { list: t.list, token, by: t.member, via: 'mail', claimedBy: 'test' });
    assert.equal(r.state, 'applied', r.headline);
    assert.match(r.headline, /is on again/);
    const ended = await resultWithin<BouncerStatus>(t.handle());
    assert.equal(ended.state, 'ended');
    assert.equal(ended.score, 0);
    assert.ok(ended.events.some((e) => e.effect === 're-enabled'));
    assert.equal(await deliveryStatus(t.list, t.member), 'enabled');
    await stack.env.sleep('30 days');
    assert.equal(mailFor(stack.recorder.received, t.member).length, 1, 'no warning after re-enabling');
    assert.equal(await deliveryStatus(t.list, t.member), 'enabled', 'never removed');
  });

  it('a member who leaves during the countdown ends the bouncer quietly', async () => {
    const t = await setup(['bounce_score_threshold=1']);
    await t.bounce();
    await until(t.handle, (s) => s.state === 'disabled', 'disabled');
    await db().query(`DELETE FROM members WHERE lower(address) = lower($1)`, [t.member]);
    await stack.env.sleep('8 days');
    const ended = await resultWithin<BouncerStatus>(t.handle());
    assert.equal(ended.state, 'ended');
    assert.match(ended.detail, /no longer a member/);
  });

  it('a countdown never removes a new membership of the same address', async () => {
    const t = await setup(['bounce_score_threshold=1']);
    await t.bounce();
    await until(t.handle, (s) => s.state === 'disabled', 'disabled');
    // An owner removes the address and adds it again: a new membership (new VERP token), delivery on.
    await db().query(`DELETE FROM members WHERE lower(address) = lower($1)`, [t.member]);
    await subscribe(db(), t.list, [t.member]);
    await stack.env.sleep('7 days');
    const ended = await resultWithin<BouncerStatus>(t.handle());
    assert.equal(ended.state, 'ended');
    assert.match(ended.detail, /a new one began/);
    await stack.env.sleep('30 days');
    assert.equal(await deliveryStatus(t.list, t.member), 'enabled', 'the new membership stays');
  });

  it('tells the owners of policy refusals once a day at most, however many arrive', async () => {
    const tag = uniqueName('pol');
    const list = await createList(db(), [], 'pol');
    const owner = `owner-${tag}@owners.example`;
    await subscribe(db(), list, [owner], 'owner');
    const refuse = (i: number, domain: string) =>
      signalPolicyRefusal(stack.env.client, queues(), list, { address: `m${i}@${domain}`, domain, status: '5.7.1', reason: `550 5.7.1 rejected by ${domain}'s DMARC policy`, at: new Date().toISOString() });
    for (let i = 0; i < 30; i++) await refuse(i, ['strict.example', 'picky.example', 'strict.example'][i % 3] as string);
    const summaries = () => mailFor(stack.recorder.received, owner);
    await stack.env.sleep('20 minutes');
    await stack.recorder.waitFor(() => summaries().length === 1);
    const first = summaries()[0];
    assert.match(first?.subject ?? '', /refused for policy reasons by 2 domain\(s\)/);
    assert.match(first?.text ?? '', /30 refusal\(s\)/);
    assert.match(first?.text ?? '', /strict\.example: 20 refusal/);
    assert.match(first?.text ?? '', /picky\.example: 10 refusal/);
    for (let i = 0; i < 5; i++) await refuse(100 + i, 'strict.example');
    await stack.env.sleep('2 hours');
    assert.equal(summaries().length, 1, 'no second summary within the day');
    await stack.env.sleep('1 day');
    await stack.recorder.waitFor(() => summaries().length === 2);
    assert.match(summaries()[1]?.text ?? '', /5 refusal\(s\)/);
    await stack.env.sleep('2 days');
    const done = await resultWithin<{ pending: number }>(stack.env.client.workflow.getHandle(policyNoticeWorkflowId(list)));
    assert.equal(done.pending, 0);
  });
});
