// Bounces end to end over SMTP through the ingress, on the dev server: a DSN, a VERP bounce, a heuristic one, an
// auto-reply, a policy refusal and mail nobody can use each end where an owner would expect; refusals during
// delivery count too, and a disabled member gets no copies; re-enabling by a reply and by the CLI.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../workers/index.js';
import { listSubAddress } from '../../mail/address.js';
import type { Db } from '../../store/db.js';
import { unsubscribeByVerpToken } from '../../store/unsubscriptions.js';
import {
  bouncerStatusQuery,
  bouncerWorkflowId,
  policyNoticeQuery,
  policyNoticeWorkflowId,
  type BouncerStatus,
  type MailStatus,
} from '../../workflows/messages.js';
import { runCli, type CliEnv } from '../cli/run-cli.js';
import { sendBounce } from '../helpers/bounces.js';
import { mailFor } from '../helpers/read-mail.js';
import { createList, post, queuedId, sendRaw, subscribe, useStack, waitForState } from '../helpers/stack.js';
import { devServerAddress, uniqueName } from '../helpers/temporal.js';

describe('bounce processing end to end', () => {
  const env = useStack();
  const started: string[] = [];
  const cliEnv = (): CliEnv => ({ DATABASE_URL: env.stack.database.url, TEMPORAL_ADDRESS: devServerAddress() });
  const cli = (...args: string[]) => runCli(cliEnv(), args);

  after(async () => {
    // Bouncers and policy summaries wait for days: leave none running on the shared dev server.
    await Promise.allSettled(started.map((id) => env.stack.client.workflow.getHandle(id).terminate('test finished')));
  });

  async function setup(settings: string[] = []) {
    const tag = uniqueName('bp');
    const list = await createList(env.stack.db, settings, 'bp');
    const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map((n) => `${n}-${tag}@members.example`) as [string, string, string, string];
    const owner = `owner-${tag}@owners.example`;
    await subscribe(env.stack.db, list, [alice, bob, carol, dave]);
    await subscribe(env.stack.db, list, [owner], 'owner');
    for (const m of [alice, bob, carol, dave]) started.push(bouncerWorkflowId(list, m));
    started.push(policyNoticeWorkflowId(list));
    return { tag, list, alice, bob, carol, dave, owner };
  }

  const verpOf = async (db: Db, list: string, address: string): Promise<string> => {
    const { rows } = await db.query<{ verp_token: string }>(
      `SELECT m.verp_token FROM members m JOIN lists l ON l.id = m.list_id WHERE l.address = $1 AND m.address_key = lower($2) AND m.role = 'member'`,
      [list, address],
    );
    assert.ok(rows[0]);
    return rows[0].verp_token;
  };

  async function bounceResult(response: string): Promise<MailStatus> {
    return (await env.stack.client.workflow.getHandle(queuedId(response)).result()) as MailStatus;
  }

  async function bouncer(list: string, address: string, done: (s: BouncerStatus) => boolean = () => true): Promise<BouncerStatus> {
    const deadline = Date.now() + 20_000;
    let last: BouncerStatus | undefined;
    for (;;) {
      try {
        last = await env.stack.client.workflow.getHandle(bouncerWorkflowId(list, address)).query(bouncerStatusQuery);
        if (done(last)) return last;
      } catch {
        // not started yet
      }
      if (Date.now() > deadline) throw new Error(`the bouncer of ${address} never got there (last: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function hasBouncer(list: string, address: string): Promise<boolean> {
    try {
      await env.stack.client.workflow.getHandle(bouncerWorkflowId(list, address)).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async function recorded(list: string) {
    const { rows } = await env.stack.db.query<{ recipient: string | null; classification: string; method: string; status: string | null; scored: boolean }>(
      `SELECT e.recipient, e.classification, e.method, e.status, e.scored FROM bounce_events e JOIN lists l ON l.id = e.list_id WHERE l.address = $1 ORDER BY e.id`,
      [list],
    );
    return rows;
  }

  async function deliveryStatus(list: string, address: string): Promise<string | null> {
    const { rows } = await env.stack.db.query<{ delivery_status: string }>(
      `SELECT m.delivery_status FROM members m JOIN lists l ON l.id = m.list_id WHERE l.address = $1 AND m.address_key = lower($2) AND m.role = 'member'`,
      [list, address],
    );
    return rows[0]?.delivery_status ?? null;
  }

  it('scores a DSN, a VERP bounce and a heuristic bounce against the right members', async () => {
    const t = await setup();
    const dsnResponse = await sendBounce(env.stack.smtpPort, 'dsn-user-unknown.eml', { list: t.list, member: t.alice.toUpperCase() });
    const dsn = await bounceResult(dsnResponse);
    assert.equal(dsn.state, 'counted', dsn.detail);
    // Replay-safe: today's bounce workflow (patched path, local activity) replays its own history.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'bounce' }, await env.stack.client.workflow.getHandle(queuedId(dsnResponse)).fetchHistory());
    assert.equal((await bouncer(t.list, t.alice, (s) => s.score === 1)).events[0]?.status, '5.1.1');

    const verp = await bounceResult(await sendBounce(env.stack.smtpPort, 'verp-forwarded.eml', { list: t.list, verp: await verpOf(env.stack.db, t.list, t.bob) }));
    assert.equal(verp.state, 'counted', verp.detail);
    assert.match(verp.detail, /VERP/);
    await bouncer(t.list, t.bob, (s) => s.score === 1);

    const text = await bounceResult(await sendBounce(env.stack.smtpPort, 'heuristic-exim.eml', { list: t.list, member: t.carol }));
    assert.equal(text.state, 'counted', text.detail);
    await bouncer(t.list, t.carol, (s) => s.score === 1);

    assert.deepEqual(
      (await recorded(t.list)).map((r) => [r.recipient?.toLowerCase(), r.classification, r.method, r.scored]),
      [
        [t.alice, 'permanent', 'dsn', true],
        [t.bob, 'permanent', 'verp', true],
        [t.carol, 'permanent', 'heuristic', true],
      ],
    );
    assert.deepEqual(mailFor(env.recorder.received, t.owner), [], 'owners are not bothered with bounces that were used');
  });

  it('records an auto-reply to a VERP address against the member without counting it, and shows it', async () => {
    const t = await setup();
    const r = await bounceResult(await sendBounce(env.stack.smtpPort, 'vacation.eml', { list: t.list, member: t.alice, verp: await verpOf(env.stack.db, t.list, t.alice) }, t.alice));
    assert.equal(r.state, 'auto-reply', r.detail);
    assert.equal(await hasBouncer(t.list, t.alice), false, 'nothing counted');
    assert.deepEqual((await recorded(t.list)).map((e) => [e.recipient, e.classification, e.scored]), [[t.alice, 'auto-reply', false]]);
    const show = await cli('bounces', 'show', t.list, t.alice);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /no bounce state: no bouncer workflow/);
    assert.match(show.stdout, /inbound\s+auto-reply\s+verp/);
    assert.deepEqual(mailFor(env.recorder.received, t.owner), []);
  });

  it('does not count a policy refusal against the member and gathers it for the owners\' summary', async () => {
    const t = await setup();
    const r = await bounceResult(await sendBounce(env.stack.smtpPort, 'policy-dmarc.eml', { list: t.list, member: t.alice }));
    assert.equal(r.state, 'policy', r.detail);
    assert.equal(await hasBouncer(t.list, t.alice), false);
    const summary = await env.stack.client.workflow.getHandle(policyNoticeWorkflowId(t.list)).query(policyNoticeQuery);
    assert.equal(summary.pending, 1);
    assert.equal(summary.domains[0]?.domain, 'members.example');
    assert.match(summary.domains[0]?.reasons[0] ?? '', /5\.7\.1 .*DMARC/);
    assert.ok(summary.nextNoticeAt, 'a summary is scheduled');
  });

  it('forwards what it cannot use to the owners, with the reason', async () => {
    const t = await setup();
    const note = await bounceResult(await sendBounce(env.stack.smtpPort, 'human-note.eml', { list: t.list }, 'confused@elsewhere.example'));
    assert.equal(note.state, 'forwarded', note.detail);
    const stranger = await bounceResult(await sendBounce(env.stack.smtpPort, 'nonmember-dsn.eml', { list: t.list }));
    assert.equal(stranger.state, 'forwarded', stranger.detail);
    await env.recorder.waitFor(() => mailFor(env.recorder.received, t.owner).length === 2);
    const [first, second] = mailFor(env.recorder.received, t.owner);
    assert.match(first?.subject ?? '', /uncaught bounce notification/);
    assert.match(first?.text ?? '', /not recognised as a bounce/);
    assert.match(second?.text ?? '', /a bounce naming no member of the list \(stranger-/);
    const raw = env.recorder.received.find((m) => m.to.includes(t.owner))?.raw.toString('utf8') ?? '';
    assert.match(raw, /Content-Type: message\/rfc822/i, 'the message itself is attached');
    assert.match(raw, /please take me off this list/);
    assert.match(raw, /Auto-Submitted: auto-generated/);
    assert.deepEqual((await recorded(t.list)).map((e) => e.classification), ['not-bounce', 'unrecognised']);
  });

  it('does not forward a bounce of the owners\' own mail back to them (it would loop)', async () => {
    const t = await setup();
    const r = await bounceResult(await sendBounce(env.stack.smtpPort, 'dsn-user-unknown.eml', { list: t.list, member: t.owner }));
    assert.equal(r.state, 'recorded', r.detail);
    assert.match(r.detail, /a bounce for the list's staff .*not forwarded \(it would loop\)/);
    assert.deepEqual(mailFor(env.recorder.received, t.owner), []);
  });

  it('records a bounce to the VERP address of a membership that has ended, without forwarding it', async () => {
    const t = await setup();
    const verp = await verpOf(env.stack.db, t.list, t.bob);
    const { rows } = await env.stack.db.query<{ id: string }>('SELECT id FROM lists WHERE address = $1', [t.list]);
    await unsubscribeByVerpToken(env.stack.db, { id: Number(rows[0]?.id), address: t.list }, verp, 'bounces');
    const r = await bounceResult(await sendBounce(env.stack.smtpPort, 'verp-forwarded.eml', { list: t.list, verp }));
    assert.equal(r.state, 'former-member', r.detail);
    assert.match(r.detail, new RegExp(`about ${t.bob}, who left via bounces`));
    assert.equal(await hasBouncer(t.list, t.bob), false);
    assert.deepEqual(mailFor(env.recorder.received, t.owner), []);
  });

  it('with process_bounces off, records and forwards a bounce but scores nothing', async () => {
    const t = await setup(['process_bounces=false']);
    const r = await bounceResult(await sendBounce(env.stack.smtpPort, 'dsn-user-unknown.eml', { list: t.list, member: t.alice }));
    assert.equal(r.state, 'forwarded', r.detail);
    assert.match(r.detail, /process_bounces is off/);
    assert.equal(await hasBouncer(t.list, t.alice), false);
    await env.recorder.waitFor(() => mailFor(env.recorder.received, t.owner).length === 1);
    assert.deepEqual((await recorded(t.list)).map((e) => [e.classification, e.scored]), [['permanent', false]]);
  });

  it('counts a 5xx during delivery as a bounce, sends a disabled member no further copies, and tells owners of policy refusals', async () => {
    const t = await setup(['bounce_score_threshold=1']);
    env.recorder.faults = { rcpt: { [t.bob]: 550, [t.carol]: 550 }, rcptText: { [t.carol]: '5.7.1 message rejected due to DMARC policy' } };
    try {
      const first = queuedId((await post(env.stack.smtpPort, { from: t.alice, to: t.list, subject: 'first post' })).response);
      const s = await waitForState(env.stack.client, first, ['delivered']);
      assert.equal(s.delivery.failed, 2);
      const bob = await bouncer(t.list, t.bob, (x) => x.state === 'disabled');
      assert.equal(bob.events[0]?.source, 'delivery');
      assert.equal(await deliveryStatus(t.list, t.bob), 'by_bounces');
      assert.equal(await hasBouncer(t.list, t.carol), false, 'a policy refusal does not count');
      assert.equal(await deliveryStatus(t.list, t.carol), 'enabled');
      const summary = await env.stack.client.workflow.getHandle(policyNoticeWorkflowId(t.list)).query(policyNoticeQuery);
      assert.deepEqual(summary.domains.map((d) => [d.domain, d.count]), [['members.example', 1]]);
      // The owners hear of the disabled member at once.
      await env.recorder.waitFor(() => mailFor(env.recorder.received, t.owner).some((m) => /disabled \(bounce score 1\)/.test(m.subject)));

      const second = queuedId((await post(env.stack.smtpPort, { from: t.alice, to: t.list, subject: 'second post' })).response);
      const s2 = await waitForState(env.stack.client, second, ['delivered']);
      assert.equal(s2.delivery.total, 3, 'the disabled member is not in the second post\'s ledger');
      const copies = env.recorder.received.filter((r) => r.raw.toString('utf8').includes('Subject: [') && r.raw.toString('utf8').includes('second post'));
      assert.ok(copies.length > 0);
      assert.ok(!copies.some((r) => r.to.includes(t.bob)), 'no copy for the disabled member');
      assert.ok(copies.some((r) => r.to.includes(t.dave)));
    } finally {
      env.recorder.faults = {};
    }
  });

  it('re-enables by a reply to the notice\'s confirm address, and by the CLI; show and list report the state', async () => {
    const t = await setup(['bounce_score_threshold=1']);
    await bounceResult(await sendBounce(env.stack.smtpPort, 'dsn-user-unknown.eml', { list: t.list, member: t.dave }));
    await bouncer(t.list, t.dave, (s) => s.state === 'disabled');
    await bounceResult(await sendBounce(env.stack.smtpPort, 'dsn-user-unknown.eml', { list: t.list, member: t.carol }));
    await bouncer(t.list, t.carol, (s) => s.state === 'disabled');

    const listed = await cli('bounces', 'list', t.list, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    // Visibility is eventually consistent; the DB fallback names disabled members even before it catches up.
    const l = JSON.parse(listed.stdout) as { bouncers: BouncerStatus[]; disabledWithoutBouncer: string[] };
    assert.deepEqual([...l.bouncers.map((b) => b.address), ...l.disabledWithoutBouncer].sort(), [t.carol, t.dave].sort());

    const show = await cli('bounces', 'show', t.list, t.dave);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /delivery disabled by bounces/);
    assert.match(show.stdout, /state\s+disabled/);
    assert.match(show.stdout, /score\s+1 of 1/);
    assert.match(show.stdout, /next\s+warning at/);
    const json = JSON.parse((await cli('bounces', 'show', t.list, t.dave, '--json')).stdout) as { bouncer: BouncerStatus; recorded: { classification: string }[] };
    assert.equal(json.bouncer.state, 'disabled');
    assert.equal(json.recorded[0]?.classification, 'permanent');
    const none = await cli('bounces', 'show', t.list, t.alice);
    assert.match(none.stdout, /no bounce state/);

    // Dave replies to the notice: the reply goes to <list>-confirm+<token>@ through the ingress.
    await env.recorder.waitFor(() => mailFor(env.recorder.received, t.dave).length === 1);
    const address = /(\S+-confirm\+[a-z2-7]+@\S+)/.exec(mailFor(env.recorder.received, t.dave)[0]?.text ?? '')?.[1];
    assert.ok(address);
    const reply = Buffer.from(
      [`From: ${t.dave}`, `To: ${address}`, 'Subject: Re: your delivery is disabled', `Message-ID: <${t.tag}.reply@members.example>`, '', 'Please turn it back on.', ''].join('\r\n'),
    );
    await sendRaw(env.stack.smtpPort, t.dave, [address], reply);
    const back = await bouncer(t.list, t.dave, (s) => s.state !== 'disabled');
    assert.equal(back.score, 0);
    assert.equal(await deliveryStatus(t.list, t.dave), 'enabled');
    await env.recorder.waitFor(() => mailFor(env.recorder.received, t.dave).some((m) => /is on again/.test(m.subject)));

    const cliReenable = await cli('bounces', 'reenable', t.list, t.carol);
    assert.equal(cliReenable.code, 0, cliReenable.stderr);
    assert.match(cliReenable.stdout, /is on again.*countdown is cancelled/);
    const carol = await bouncer(t.list, t.carol, (s) => s.state !== 'disabled');
    assert.equal(carol.nextAction, null);
    assert.equal(await deliveryStatus(t.list, t.carol), 'enabled');
    const notMember = await cli('bounces', 'reenable', t.list, `nobody-${t.tag}@members.example`);
    assert.equal(notMember.code, 1);
    assert.match(notMember.stderr, /is not a member of/);
    assert.equal(listSubAddress(t.list, 'bounces').endsWith('@lists.example'), true);
  });
});
