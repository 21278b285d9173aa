// The posting chain through the real stack (ingress, worker, Temporal, PostgreSQL, SMTP on loopback): an
// approved post reaches members without its password, bans and @list acceptance work from the database,
// and hostile messages end the post workflow in a defined state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitHeaderBlock } from '../../mail/message.js';
import { addBan } from '../../store/bans.js';
import { fixture } from '../helpers/fixtures.js';
import { readMail } from '../helpers/read-mail.js';
import { createList, post, queuedId, sendRaw, subscribe, useStack, waitForState } from '../helpers/stack.js';
import { runCli } from '../cli/run-cli.js';

const PASSWORD = 'Corr3ct-Horse';
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

describe('the posting chain end to end', () => {
  const env = useStack();

  it('delivers a nonmember post approved in its first line, with the line removed and the body otherwise byte-identical', async () => {
    const list = await createList(env.stack.db, [`moderator_password=${PASSWORD}`]);
    await subscribe(env.stack.db, list, ['alice@example.com', 'bob@example.com']);
    const { response, raw } = await post(env.stack.smtpPort, {
      from: 'mo@example.net',
      to: list,
      subject: 'board announcement',
      text: `Approved: ${PASSWORD}\r\n\r\nThe board decided to meet on Thursdays.\r\n`,
    });
    const id = queuedId(response);
    const status = await waitForState(env.stack.client, id, ['delivered']);
    assert.deepEqual(status.decision.hits.map((h) => h.rule), ['approved']);
    assert.equal(status.decision.hits[0]?.reason, "the first line of the body carries the list's moderator password");
    await env.recorder.waitFor((r) => r.filter((m) => m.raw.includes(list)).length >= 1);

    const copies = env.recorder.received.filter((r) => readMail(r).isListCopy && r.raw.toString().includes('board announcement'));
    assert.deepEqual(copies.flatMap((c) => c.to).sort(), ['alice@example.com', 'bob@example.com']);
    const originalBody = splitHeaderBlock(raw).body.toString('latin1');
    assert.match(originalBody, new RegExp(`^Approved: ${PASSWORD}\r\n\r\n`), 'the post really carried the line');
    for (const copy of copies) {
      assert.doesNotMatch(copy.raw.toString('latin1'), new RegExp(PASSWORD));
      assert.equal(splitHeaderBlock(copy.raw).body.toString('latin1'), originalBody.replace(`Approved: ${PASSWORD}\r\n\r\n`, ''));
    }
  });

  it('delivers a post approved by an Approved: header, without the header', async () => {
    const list = await createList(env.stack.db, [`moderator_password=${PASSWORD}`, 'emergency=true']);
    await subscribe(env.stack.db, list, ['carol@example.com']);
    const { response } = await post(env.stack.smtpPort, { from: 'mo@example.net', to: list, subject: 'header approval', headers: { Approved: PASSWORD } });
    const status = await waitForState(env.stack.client, queuedId(response), ['delivered']);
    assert.equal(status.decision.action, 'accept');
    const copy = env.recorder.received.find((r) => r.to.includes('carol@example.com') && r.raw.toString().includes('header approval'));
    assert.ok(copy);
    assert.doesNotMatch(copy.raw.toString(), /^Approved:/im);
    assert.doesNotMatch(copy.raw.toString(), new RegExp(PASSWORD));
  });

  it('delivers a post approved with a moderator token from `listflow lists approval-token`, naming whose token it was', async () => {
    const list = await createList(env.stack.db, ['emergency=true']);
    await subscribe(env.stack.db, list, ['erin@example.com']);
    const issued = await runCli({ DATABASE_URL: env.stack.database.url }, ['lists', 'approval-token', list, '--days', '2', '--for', 'Mo@Example.NET', '--json']);
    assert.equal(issued.code, 0, issued.stderr);
    const { token } = JSON.parse(issued.stdout) as { token: string };
    const bad = await runCli({ DATABASE_URL: env.stack.database.url }, ['lists', 'approval-token', list, '--days', '0']);
    assert.deepEqual([bad.code, bad.stderr.trim()], [1, 'listflow: --days must be a whole number from 1 to 366']);

    const { response } = await post(env.stack.smtpPort, { from: 'mo@example.net', to: list, subject: 'token approval', headers: { Approved: token } });
    const status = await waitForState(env.stack.client, queuedId(response), ['delivered']);
    assert.deepEqual(status.decision.hits.map((h) => h.rule), ['approved']);
    assert.match(status.decision.hits[0]?.reason ?? '', /^the approved header carries a moderator token issued to mo@example\.net \(valid until /);
    const copy = env.recorder.received.find((r) => r.to.includes('erin@example.com') && r.raw.toString().includes('token approval'));
    assert.ok(copy);
    assert.doesNotMatch(copy.raw.toString(), new RegExp(token, 'i'));

    // The same token on another list approves nothing there: emergency holds the post.
    const other = await createList(env.stack.db, ['emergency=true']);
    const { response: elsewhere } = await post(env.stack.smtpPort, { from: 'mo@example.net', to: other, subject: 'wrong list', headers: { Approved: token } });
    const held = await waitForState(env.stack.client, queuedId(elsewhere), ['held']);
    assert.deepEqual(held.decision.hits.map((h) => h.rule), ['emergency']);
    await env.stack.client.workflow.getHandle(queuedId(elsewhere)).terminate('test finished');
  });

  it('holds a wrong password and nonmember spam flagged by the site rule; discards a site-wide banned member', async () => {
    const list = await createList(env.stack.db, [`moderator_password=${PASSWORD}`, 'nonmember_action=accept']);
    await subscribe(env.stack.db, list, ['troll@bad.example', 'dave@example.com']);
    const { rows } = await env.stack.db.query<{ id: string }>('SELECT id FROM lists WHERE address = $1', [list]);
    assert.ok(rows[0]);
    await addBan(env.stack.db, { listId: null, pattern: '^troll@bad\\.example$', reason: 'test' });

    const spam = await post(env.stack.smtpPort, { from: 'promo@spam.example', to: list, subject: 'cheap', headers: { 'X-Spam-Flag': 'YES' } });
    const held = await waitForState(env.stack.client, queuedId(spam.response), ['held']);
    assert.match(held.decision.summary, /^x-spam-flag: "YES" matches site header_matches/);

    const banned = await post(env.stack.smtpPort, { from: 'troll@bad.example', to: list, subject: 'again' });
    const discarded = await waitForState(env.stack.client, queuedId(banned.response), ['discarded']);
    assert.equal(discarded.decision.summary, 'troll@bad.example is banned site-wide (^troll@bad\\.example$)');
  });

  it('accepts a nonmember who is a member of the @list named in accept_these_nonmembers', async () => {
    const announce = await createList(env.stack.db, [], 'announce');
    await subscribe(env.stack.db, announce, ['erin@example.net']);
    const list = await createList(env.stack.db, [`accept_these_nonmembers+=@${announce}`]);
    await subscribe(env.stack.db, list, ['frank@example.com']);
    const ok = await post(env.stack.smtpPort, { from: 'Erin@Example.net', to: list, subject: 'from announce' });
    const status = await waitForState(env.stack.client, queuedId(ok.response), ['delivered']);
    assert.equal(status.decision.summary, `the nonmember Erin@example.net is a member of ${announce} (accept_these_nonmembers)`);
    const other = await post(env.stack.smtpPort, { from: 'stranger@example.net', to: list, subject: 'not in announce' });
    assert.equal((await waitForState(env.stack.client, queuedId(other.response), ['held'])).decision.hits[0]?.rule, 'nonmember-moderation');
  });

  it('hostile messages through the real worker end in a defined state with clean reasons', async () => {
    const list = await createList(env.stack.db);
    const many = ['From: Flood <flood@example.com>', `To: ${list}`, 'Subject: many headers'];
    for (let i = 0; i < 20_000; i++) many.push(`X-Filler-${i % 50}: filler ${i}`);
    many.push('X-Spam-Flag: YES', '', 'body', '');
    const cases: [string, Buffer, 'discarded' | 'held'][] = [
      ['malformed headers (no usable From)', fixture('rules/malformed-headers.eml'), 'discarded'],
      ['NUL bytes', fixture('rules/nul-bytes.eml'), 'held'],
      ['invalid UTF-8', fixture('rules/invalid-utf8.eml'), 'held'],
      ['header injection', fixture('rules/header-injection.eml'), 'held'],
      ['20,000 header lines', Buffer.from(many.join('\r\n')), 'held'],
    ];
    for (const [what, raw, state] of cases) {
      // Each message's own bytes plus a unique line, so reruns and the other lists do not share workflow IDs.
      const unique = Buffer.concat([Buffer.from(`X-Test-Case: ${Date.now()}-${Math.random()}\r\n`), raw]);
      const response = await sendRaw(env.stack.smtpPort, 'someone@example.net', [list], unique);
      const status = await waitForState(env.stack.client, queuedId(response), [state], 60_000);
      assert.equal(status.state, state, what);
      for (const text of [status.decision.summary, ...status.decision.hits.map((h) => h.reason), status.subject]) {
        assert.doesNotMatch(text, CONTROL, `${what}: ${JSON.stringify(text)}`);
      }
    }
  });
});
