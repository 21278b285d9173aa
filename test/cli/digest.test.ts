// Digest members through the real CLI on the dev-server stack: `members set … delivery_mode=…` (validated),
// no regular copies for digest members while regular members get theirs, `digest status` and `digest send`.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readFacts } from '../../mail/message.js';
import { digestWorkflowId } from '../../workflows/messages.js';
import { digestUntil, headerOf, multipartParts, partBody } from '../helpers/digest.js';
import type { Received } from '../helpers/smtp-recorder.js';
import { createList, post, queuedId, subscribe, useStack, waitForState } from '../helpers/stack.js';
import { devServerAddress, uniqueName } from '../helpers/temporal.js';
import { runCli, type CliEnv } from './run-cli.js';

describe('digest members, listflow digest send and digest status', () => {
  const env = useStack();
  const lists: string[] = [];
  const cliEnv = (): CliEnv => ({ DATABASE_URL: env.stack.database.url, TEMPORAL_ADDRESS: devServerAddress() });
  const cli = (...args: string[]) => runCli(cliEnv(), args);

  after(async () => {
    // Digest workflows wait for days: leave none running on the shared dev server.
    await Promise.allSettled(lists.map((l) => env.stack.client.workflow.getHandle(digestWorkflowId(l)).terminate('test finished')));
  });

  const received = (address: string, kind: 'digest' | 'post'): Received[] =>
    env.recorder.received.filter((r) => r.to.includes(address) && headerOf(r.raw, kind === 'digest' ? 'X-Listflow-Digest' : 'X-Listflow-Seq') !== '');

  it('sets delivery_mode through the CLI, refusing bad values, and keeps regular copies from digest members', async () => {
    const tag = uniqueName('cli');
    // No subject prefix: the digest's table of contents is compared with the subjects as posted.
    const list = await createList(env.stack.db, ['subject_prefix='], 'dig');
    lists.push(list);
    const [poster, reader, mime, plain] = ['poster', 'reader', 'mime', 'plain'].map((n) => `${n}-${tag}@members.example`) as [string, string, string, string];
    await subscribe(env.stack.db, list, [poster, reader, mime, plain]);

    const bad = await cli('members', 'set', list, mime, 'delivery_mode=weekly');
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'listflow: delivery_mode=weekly: must be one of regular, mime_digest, plain_digest\n');
    const notMember = await cli('members', 'set', list, `nobody-${tag}@members.example`, 'delivery_mode=mime_digest');
    assert.equal(notMember.code, 1);
    assert.match(notMember.stderr, /is not a member of/);
    const ok1 = await cli('members', 'set', list, mime, 'delivery_mode=mime_digest');
    assert.equal(ok1.code, 0, ok1.stderr);
    assert.equal(ok1.stdout, `${list}: ${mime} delivery_mode = mime_digest\n`);
    assert.equal((await cli('members', 'set', list, plain, 'delivery_mode=plain_digest')).code, 0);
    const shown = await cli('members', 'list', list);
    assert.match(shown.stdout, new RegExp(`${mime}\\s+member\\s+default\\s+enabled mime_digest`));

    // A list that does not offer digests refuses new digest members.
    const closed = await createList(env.stack.db, ['digests_enabled=false'], 'nodig');
    await subscribe(env.stack.db, closed, [reader]);
    const refused = await cli('members', 'set', closed, reader, 'delivery_mode=plain_digest');
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `listflow: ${closed} does not offer digests (digests_enabled is false)\n`);

    // Nothing pending yet: no digest workflow runs for the list.
    const idle = await cli('digest', 'status', list);
    assert.equal(idle.code, 0, idle.stderr);
    assert.match(idle.stdout, /no digest pending/);
    const nothing = await cli('digest', 'send', list);
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.equal(nothing.stdout, `${list}: nothing to send\n`);

    // Two posts over SMTP: regular members get each, digest members none.
    const ids: string[] = [];
    for (const subject of ['first over smtp', 'second over smtp']) {
      const { response } = await post(env.stack.smtpPort, { from: poster, to: list, subject });
      ids.push(queuedId(response));
    }
    for (const id of ids) {
      const s = await waitForState(env.stack.client, id, ['delivered']);
      assert.equal(s.delivery.total, 2, 'the ledger holds the two regular members only');
    }
    await digestUntil(env.stack.client, list, (s) => s.pending.length === 2, 'two pending');
    assert.equal(received(reader, 'post').length, 2);
    assert.equal(received(poster, 'post').length, 2);
    assert.equal(received(mime, 'post').length + received(plain, 'post').length, 0, 'digest members get no regular copies');

    const status = await cli('digest', 'status', list);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /pending\s+2 posts/);
    assert.match(status.stdout, /size\s+\d+\.\d KB of 30 KB/);
    assert.match(status.stdout, /next issue\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ at the latest/);
    // Both posts came in at once, so which got sequence number 1 is not fixed; the listing is in that order.
    assert.match(status.stdout, /#[12] first over smtp \(poster-[^,]+, \d+ bytes\)/);
    assert.match(status.stdout, /#[12] second over smtp \(poster-/);
    assert.match(status.stdout, /#1 .*\n.*#2 /);
    const asJson = JSON.parse((await cli('digest', 'status', list, '--json')).stdout) as { pending: unknown[]; thresholdBytes: number };
    assert.equal(asJson.pending.length, 2);
    assert.equal(asJson.thresholdBytes, 30 * 1024);

    // Below the threshold and a day early: `digest send` sends it now.
    const sent = await cli('digest', 'send', list);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, new RegExp(`^${list}: Vol 1, Issue 1: 2 post\\(s\\) to 2 of 2 digest member\\(s\\)\\n$`));
    await env.recorder.waitFor(() => received(mime, 'digest').length === 1 && received(plain, 'digest').length === 1);
    const issue = received(mime, 'digest')[0]!;
    assert.match(readFacts(issue.raw).subject, /^dig-[0-9a-f]+ Digest, Vol 1, Issue 1$/);
    assert.match(partBody(multipartParts(issue.raw)[0]!).toString(), /   1\. (first|second) over smtp \(.*\r\n   2\. (first|second) over smtp \(/);

    const again = await cli('digest', 'send', list);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `${list}: nothing to send\n`);
    assert.equal(received(mime, 'digest').length, 1, 'no second issue');
    const after1 = await cli('digest', 'status', list);
    assert.match(after1.stdout, /pending\s+0 posts/);
    assert.match(after1.stdout, /last issue\s+Vol 1, Issue 1/);
  });

  it('says clearly when there is no such list', async () => {
    for (const sub of ['send', 'status']) {
      const r = await cli('digest', sub, 'no-such-list@lists.example');
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'listflow: there is no list no-such-list@lists.example (see: listflow lists list)\n');
    }
  });
});
