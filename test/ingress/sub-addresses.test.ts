// A list's other addresses: -owner mail reaches the owners unchanged, -request mail gets help (never automatic mail), -bounces mail is
// recorded and counted against the member it names, or forwarded to the owners when it names none.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listSubAddress } from '../../mail/address.js';
import { sha256Hex } from '../../store/messages.js';
import { fixture } from '../helpers/fixtures.js';
import { buildMessage, deliver, expectedWorkflowId, waitForMailState } from '../helpers/ingress.js';
import { createList, subscribe, useStack } from '../helpers/stack.js';

function header(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('utf8').split('\r\n\r\n')[0] ?? '';
  return new RegExp(`^${name}: *(.*)$`, 'mi').exec(head)?.[1]?.trim();
}

describe("ingress: a list's other addresses", () => {
  const env = useStack();

  const sentTo = (address: string) => env.recorder.received.filter((r) => r.to.map((t) => t.toLowerCase()).includes(address));

  it('forwards -owner mail unchanged to the owners only', async () => {
    const list = await createList(env.stack.db);
    const owners = ['owner1@example.org', 'owner2@example.org'];
    await subscribe(env.stack.db, list, owners, 'owner');
    await subscribe(env.stack.db, list, ['member@example.com']);
    const raw = await buildMessage({ from: 'stranger@example.net', to: listSubAddress(list, 'owner'), subject: 'a question for the owners' });
    const report = await deliver(env.stack.smtpPort, { from: 'stranger@example.net', to: [listSubAddress(list, 'owner')], raw });
    const id = expectedWorkflowId('owner', list, raw);
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);

    const status = await waitForMailState(env.stack.client, id, ['forwarded', 'kept']);
    assert.equal(status.state, 'forwarded', status.detail);
    assert.equal(status.detail, `forwarded to ${owners.join(', ')}`);
    const copies = env.recorder.received.filter((r) => r.raw.includes('a question for the owners'));
    assert.equal(copies.length, 1);
    assert.deepEqual([...(copies[0]?.to ?? [])].sort(), owners);
    assert.equal(copies[0]?.from, listSubAddress(list, 'bounces'));
    assert.ok(copies[0]?.raw.equals(raw), 'the owners get the bytes as sent');
    assert.deepEqual(sentTo('member@example.com'), []);
  });

  it('keeps -owner mail for a list without owners and says so', async () => {
    const list = await createList(env.stack.db);
    const raw = await buildMessage({ from: 'stranger@example.net', to: listSubAddress(list, 'owner'), subject: 'anyone there?' });
    await deliver(env.stack.smtpPort, { from: 'stranger@example.net', to: [listSubAddress(list, 'owner')], raw });
    const status = await waitForMailState(env.stack.client, expectedWorkflowId('owner', list, raw), ['forwarded', 'kept']);
    assert.equal(status.state, 'kept');
    assert.match(status.detail, /no owners; the message is kept/);
    const { rows } = await env.stack.db.query('SELECT 1 FROM messages WHERE sha256 = $1', [sha256Hex(raw)]);
    assert.equal(rows.length, 1);
  });

  it('answers -request mail with help addressed to the sender', async () => {
    const list = await createList(env.stack.db);
    const sender = 'newcomer@example.net';
    const raw = await buildMessage({ from: sender, to: listSubAddress(list, 'request'), subject: 'help' });
    const report = await deliver(env.stack.smtpPort, { from: sender, to: [listSubAddress(list, 'request')], raw });
    const id = expectedWorkflowId('request', list, raw);
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);

    const status = await waitForMailState(env.stack.client, id, ['answered']);
    assert.equal(status.detail, `help sent to ${sender}`);
    const replies = sentTo(sender);
    assert.equal(replies.length, 1);
    const reply = replies[0]?.raw ?? Buffer.alloc(0);
    // Sent from the list's bounce address, so a failure never loops back to a person.
    assert.equal(replies[0]?.from, listSubAddress(list, 'bounces'));
    assert.equal(header(reply, 'To'), sender);
    assert.equal(header(reply, 'From'), listSubAddress(list, 'owner'));
    assert.equal(header(reply, 'Auto-Submitted'), 'auto-replied');
    assert.equal(header(reply, 'In-Reply-To'), header(raw, 'Message-ID'));
    assert.ok(reply.includes(list), 'the help names the list');
  });

  it('does not answer an automatic reply sent to -request, and says why', async () => {
    const list = await createList(env.stack.db);
    const raw = fixture('mail/auto-reply.eml');
    assert.equal(header(raw, 'Auto-Submitted'), 'auto-replied');
    const report = await deliver(env.stack.smtpPort, { from: 'away@example.net', to: [listSubAddress(list, 'request')], raw });
    const id = expectedWorkflowId('request', list, raw);
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);
    const status = await waitForMailState(env.stack.client, id, ['answered']);
    assert.equal(status.detail, 'no reply: Auto-Submitted: auto-replied');
    assert.deepEqual(sentTo('away@example.net'), []);
    assert.deepEqual(sentTo('mailer-daemon@mx.example.net'), []);
  });

  it('does not answer -request mail with a null envelope sender, and says why', async () => {
    const list = await createList(env.stack.db);
    const raw = await buildMessage({ from: 'robot@example.net', to: listSubAddress(list, 'request'), subject: 'subscribe' });
    const report = await deliver(env.stack.smtpPort, { from: false, to: [listSubAddress(list, 'request')], raw });
    const id = expectedWorkflowId('request', list, raw);
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);
    const status = await waitForMailState(env.stack.client, id, ['answered']);
    assert.equal(status.sender, null);
    assert.equal(status.detail, 'no reply: the envelope sender is null');
    assert.deepEqual(sentTo('robot@example.net'), []);
  });

  it("records a bounce to -bounces+<token> against the member the token names", async () => {
    const list = await createList(env.stack.db);
    await subscribe(env.stack.db, list, ['gone@example.com', 'stays@example.com']);
    const { rows: members } = await env.stack.db.query<{ verp_token: string; list_id: string }>(
      `SELECT m.verp_token, m.list_id FROM members m JOIN lists l ON l.id = m.list_id WHERE l.address = $1 AND m.address = 'gone@example.com'`,
      [list],
    );
    const token = members[0]?.verp_token ?? assert.fail('gone@example.com has no VERP token');
    const bounces = listSubAddress(list, 'bounces', token);
    const raw = Buffer.from(
      fixture('ingress/dsn-user-unknown.eml')
        .toString('utf8')
        .replaceAll('{{bounces}}', bounces)
        .replaceAll('{{member}}', 'gone@example.com')
        .replaceAll('{{list}}', list)
        .replaceAll('{{nonce}}', token),
    );
    const report = await deliver(env.stack.smtpPort, { from: false, to: [bounces], raw });
    const id = expectedWorkflowId('bounce', list, raw, token);
    assert.equal(report.response, `250 2.0.0 queued as ${id}`);

    const status = await waitForMailState(env.stack.client, id, ['counted']);
    assert.equal(status.detail, 'permanent failure for gone@example.com (VERP)');
    const { rows } = await env.stack.db.query<{ list_id: string; recipient: string | null; source: string; sha256: string }>(
      'SELECT list_id, recipient, source, sha256 FROM bounce_events WHERE workflow_id = $1',
      [id],
    );
    assert.deepEqual(rows, [{ list_id: members[0]?.list_id, recipient: 'gone@example.com', source: 'inbound', sha256: sha256Hex(raw) }]);
  });

  for (const [what, detail] of [
    ['without a token', undefined],
    ['with a token no member has', 'feedfacefeedface0000'],
  ] as const) {
    it(`records mail to -bounces ${what} without naming a member, and forwards it to the owners`, async () => {
      const list = await createList(env.stack.db);
      await subscribe(env.stack.db, list, ['someone@example.com']);
      const owner = `owner-${detail ?? 'none'}@example.org`;
      await subscribe(env.stack.db, list, [owner], 'owner');
      const to = listSubAddress(list, 'bounces', detail);
      const raw = await buildMessage({ from: 'postmaster@mx.example.net', to, subject: 'Undeliverable' });
      await deliver(env.stack.smtpPort, { from: false, to: [to], raw });
      const id = expectedWorkflowId('bounce', list, raw, detail);
      const status = await waitForMailState(env.stack.client, id, ['forwarded']);
      assert.match(status.detail, /a bounce naming no failed recipient.*; sent to owner-/);
      const { rows } = await env.stack.db.query<{ recipient: string | null; classification: string }>(
        'SELECT recipient, classification FROM bounce_events WHERE workflow_id = $1',
        [id],
      );
      assert.deepEqual(rows, [{ recipient: null, classification: 'unrecognised' }]);
      await env.recorder.waitFor((r) => r.some((m) => m.to.includes(owner)));
    });
  }
});
